"""The ``kvcore`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from kvcore import ETCD_API_VERSION, __version__
from kvcore.config import ConfigError

DESCRIPTION = """\
kvcore: an etcd-compatible, consistent key-value store with pluggable storage engines.

Start a node from a YAML config, then use it with any etcd v3 client:

  kvcore serve --config configs/single.yaml
  etcdctl --endpoints 127.0.0.1:2379 put foo bar
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kvcore", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    versions = f"kvcore version: {__version__}\netcd API version: {ETCD_API_VERSION}"
    parser.add_argument("--version", action="version", version=versions)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run a node",
        description="Run one node as its YAML config describes, until SIGINT or SIGTERM.",
    )
    serve.add_argument(
        "--config", "-c", required=True, metavar="FILE", help="the node's YAML config"
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    cluster = commands.add_parser(
        "cluster",
        help="run a local cluster, one process per member",
        description="Start a cluster of members on loopback (clients on 2379, 22379, "
        "32379, ...; peers one port above), each its own `kvcore serve` process, until "
        "SIGINT or SIGTERM.",
    )
    cluster.add_argument("--members", type=int, default=3, help="how many (1 to 6)")
    cluster.add_argument("--dir", default="kvcore-cluster", help="where configs, logs and data go")
    cluster.add_argument("--engine", default="memory", help="the engine every member uses")
    cluster.add_argument("--token", default="kvcore-local-cluster", help="the cluster token")
    cluster.add_argument(
        "--peer-transport",
        default="tcp",
        help="the transport between members: tcp (the default) or grpc",
    )
    snapshot = commands.add_parser("snapshot", help="work with snapshot files")
    snapshot_commands = snapshot.add_subparsers(dest="snapshot_command", required=True)
    restore = snapshot_commands.add_parser(
        "restore",
        help="make a new member's data dir from a snapshot file",
        description="Load the snapshot FILE (from `etcdctl snapshot save`) into the data "
        "dir that the --config file names, on that config's engine; then start the "
        "member with `kvcore serve --config`.",
    )
    restore.add_argument("file", metavar="FILE", help="the snapshot file")
    restore.add_argument("--config", "-c", required=True, help="the new member's YAML config")
    commands.add_parser("version", help="print kvcore's version and the etcd API it speaks")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(versions)
        return 0
    if args.command == "snapshot":
        return _restore(Path(args.file), args.config)
    if args.command == "cluster":
        from kvcore import localcluster

        return localcluster.run(
            args.members, Path(args.dir), args.engine, args.token, args.peer_transport
        )
    return _serve(args.config, args.log_level)


def _serve(config_path: str, log_level: str) -> int:
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from kvcore import config
    from kvcore.server.node import Node

    try:
        node = Node(config.load(config_path), source=config_path)
    except ConfigError as exc:
        print(f"kvcore: {exc}", file=sys.stderr)
        return 2
    try:
        _run(node)
    except OSError as exc:
        print(f"kvcore: {exc}", file=sys.stderr)
        return 1
    return 0


def _restore(snapshot: Path, config_path: str) -> int:
    from kvcore import config
    from kvcore.backend_stream import DumpError
    from kvcore.server.restore import restore
    from kvcore.server.snapshot_file import SnapshotFileError

    try:
        cfg = config.load(config_path)
        restore(snapshot, cfg, config_path)
    except (ConfigError, SnapshotFileError, DumpError, OSError) as exc:
        print(f"kvcore: {exc}", file=sys.stderr)
        return 2
    print(f"restored {snapshot} into {cfg.data_dir} (engine {cfg.engine.name})")
    return 0


def _run(node) -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional: the plain asyncio loop works, slower
        runner = asyncio.Runner()
    else:
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    with runner:
        runner.run(_serve_until_signalled(node))


async def _serve_until_signalled(node) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.run(stop)
    logging.getLogger("kvcore").info("stopped cleanly")


if __name__ == "__main__":
    sys.exit(main())
