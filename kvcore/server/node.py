"""Assembles one node from its config: engine -> raft log -> raft -> server -> transports,
and tears them down in reverse.

Everything that can be checked - plugin names, plugin options - is checked in
:meth:`Node.__init__`, before anything is opened or bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from kvcore import backend_stream, errors, metrics, schema
from kvcore import config as config_mod
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalRaftRequest, MemberAttributes
from kvcore.backend import Backend, Engine
from kvcore.config import ConfigError, ListenerConfig, NodeConfig
from kvcore.raft.config import Config as RaftNodeConfig
from kvcore.raft.driver import Driver
from kvcore.raft.messages import Message
from kvcore.raft.rawnode import RawNode
from kvcore.raft.types import Snapshot
from kvcore.registry import PluginError, Registry
from kvcore.server import applied, autocompact, bootstrap, removal, services
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.membership import Membership
from kvcore.server.raftlog import DurableLog, Identity
from kvcore.transport import PeerNetwork, PeerTransport, Server, Transport

log = logging.getLogger("kvcore")

STOP_GRACE_SECONDS = 2.0
# How long a member that applied its own removal keeps serving (etcd: 10 ticks).
REMOVED_LINGER_SECONDS = 1.0
_PUBLISH_RETRY_SECONDS = 0.5
# How many election timeouts a starting member waits to publish itself before it serves.
_PUBLISH_WAIT_ELECTIONS = 3


@dataclass(slots=True, frozen=True)
class _Listener:
    config: ListenerConfig
    transport: Any  # a Transport for a client listener, a PeerTransport for peers
    options: Any


class Node:
    def __init__(self, cfg: NodeConfig, source: str, registry: Registry | None = None) -> None:
        registry = registry or Registry()
        self.cfg = cfg
        self.source = source
        self.engine: Engine = _resolve(
            lambda: registry.engine(cfg.engine.name), source, "engine.name"
        )
        self.engine_options = config_mod.validate_options(
            self.engine.options_model, cfg.engine.options, source, "engine.options"
        )
        self.listeners = [
            _listener(registry, listener, source, f"client_listeners[{i}]", _CLIENTS)
            for i, listener in enumerate(cfg.client_listeners)
        ]
        self.peer_listener = None
        self._warned_no_peers = False
        if cfg.peer_listener is not None:
            self.peer_listener = _listener(
                registry, cfg.peer_listener, source, "peer_listener", _PEERS
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Open everything, serve until ``stop`` is set, then close everything."""
        cfg = self.cfg
        member_dir = cfg.data_dir / "member"
        member_dir.mkdir(parents=True, exist_ok=True)
        backend: Backend = self.engine.open(
            member_dir / "backend", schema.ALL_BUCKETS, self.engine_options
        )
        try:
            log_dir = member_dir / "raft"
            if not DurableLog.exists(log_dir):
                await self._bootstrap(backend, log_dir)
            raft_log, identity = DurableLog.open(log_dir, cfg.wal.segment_bytes)
            try:
                snapshot = raft_log.storage.snapshot()
                _catch_up(backend, snapshot)
                await self._serve(backend, raft_log, identity, snapshot, stop)
            finally:
                raft_log.close()
        finally:
            backend.close()

    async def _bootstrap(self, backend: Backend, log_dir) -> None:
        cfg = self.cfg
        if cfg.cluster_state == "new":
            identity, first = bootstrap.found(cfg, backend)
        else:
            listener = self.peer_listener
            identity = await bootstrap.join(
                cfg, backend, listener.transport, listener.options, self.source
            )
            first = None
        DurableLog.create(log_dir, identity, first, cfg.wal.segment_bytes)

    async def _serve(
        self,
        backend: Backend,
        raft_log: DurableLog,
        identity: Identity,
        snapshot: Snapshot,
        stop: asyncio.Event,
    ) -> None:
        cfg = self.cfg
        with backend.read() as txn:
            membership = Membership.load(txn, identity.member_id)
        if membership is None:
            raise ConfigError(
                f"{cfg.data_dir}: holds a raft log but no member table; remove the data "
                "dir and add this member to its cluster again"
            )
        server = EtcdServer(cfg, identity, backend, membership, snapshot)
        node = RawNode(
            RaftNodeConfig(
                id=identity.member_id,
                storage=raft_log.storage,
                applied=snapshot.metadata.index,
                election_tick=cfg.raft.election_timeout_ms // cfg.raft.heartbeat_interval_ms,
                heartbeat_tick=1,
            )
        )
        peers = self._peer_network(identity, server)
        driver = Driver(
            node,
            raft_log,
            server,
            peers.send if peers else self._no_peers,
            cfg.raft.heartbeat_interval_ms / 1000,
            cfg.raft.commit_hold_ms / 1000,
        )
        server.attach(driver, peers)
        handlers = services.build(server)
        servers: list[Server] = []
        # Tasks that run for the node's whole life; if one ends, the node stops.
        tasks = [
            asyncio.create_task(driver.run(), name="raft-driver"),
            asyncio.create_task(server.run_compactor(), name="compactor"),
            asyncio.create_task(server.run_lease_expiry(), name="lease-expiry"),
            asyncio.create_task(server.run_version_recorder(), name="version-recorder"),
            asyncio.create_task(server.watchable.run(), name="watch-sync"),
        ]
        background = list(tasks)
        untrack = metrics.track(server)
        try:
            if peers is not None:
                await peers.start()
            if node.status().voters == [identity.member_id]:
                driver.campaign()  # a lone voter need not wait out an election timeout
            publish = asyncio.create_task(self._publish(server), name="publish")
            background.append(publish)
            background.append(asyncio.create_task(autocompact.run(server), name="autocompact"))
            if (peer := self.peer_listener) is not None:
                watch = removal.watch(server, peer.transport, peer.options)
                background.append(asyncio.create_task(watch, name="removal-watch"))
            # Replay what the log already holds as committed before serving anyone, so a
            # restarted member never answers from a state older than the one it had.
            await server.wait_applied(raft_log.storage.initial_state()[0].commit)
            # Like etcd, serve once this member's client URLs are in the member list, so
            # that a client's first MemberList shows them; but a member that finds no
            # quorum serves anyway after a few election timeouts, to answer "no leader".
            publish_wait = _PUBLISH_WAIT_ELECTIONS * cfg.raft.election_timeout_ms / 1000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(publish_wait):
                    await asyncio.shield(publish)
            for listener in self.listeners:
                srv = listener.transport.client_server(
                    listener.config.address,
                    handlers,
                    listener.options,
                    cfg.limits.max_request_bytes,
                )
                await srv.start()
                servers.append(srv)
            log.info(
                "kvcore %s (member %x of cluster %x) listening for clients on %s%s; "
                "engine %s; data dir %s",
                cfg.name,
                identity.member_id,
                identity.cluster_id,
                ", ".join(f"{x.config.transport}://{x.config.address}" for x in self.listeners),
                f", for peers on {cfg.peer_listener.address}" if cfg.peer_listener else "",
                cfg.engine.name,
                cfg.data_dir,
            )
            await self._until_stopped(stop, server, tasks)
        finally:
            # Streams (watch, lock, observe) end now; calls in flight get the grace.
            server.watchable.shutdown(errors.STOPPED)
            await asyncio.gather(*(srv.stop(STOP_GRACE_SECONDS) for srv in servers))
            server.stop()
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if peers is not None:
                await peers.stop(STOP_GRACE_SECONDS)
            untrack()

    async def _until_stopped(
        self, stop: asyncio.Event, server: EtcdServer, lifelong: list[asyncio.Task]
    ) -> None:
        signals = {
            asyncio.create_task(stop.wait()),
            asyncio.create_task(server.removed.wait()),
        }
        done, _ = await asyncio.wait(signals | set(lifelong), return_when=asyncio.FIRST_COMPLETED)
        for task in signals:
            task.cancel()
        for task in done & set(lifelong):
            task.result()  # it died: raise its error
            raise RuntimeError(f"{task.get_name()} stopped unexpectedly")
        if server.removed.is_set() and not stop.is_set():
            # As etcd's stopWithDelay: answers on their way out, the removal's own among
            # them when it came to this member, leave before the listeners close.
            await asyncio.sleep(REMOVED_LINGER_SECONDS)

    def _peer_network(self, identity: Identity, server: EtcdServer) -> PeerNetwork | None:
        if self.peer_listener is None:
            return None
        listener = self.peer_listener
        return listener.transport.peer_network(
            listener.config.address,
            identity.member_id,
            identity.cluster_id,
            server,
            listener.options,
        )

    async def _publish(self, server: EtcdServer) -> None:
        """Announce this member's name and client URLs through raft, once per start
        (as etcd does, so the raft index moves as etcd's does), retrying until it
        commits."""
        cfg = self.cfg
        client_urls = [
            _client_url(listener) for listener in cfg.client_listeners if listener.advertise
        ]
        request = InternalRaftRequest(
            member_attributes=MemberAttributes(
                ID=server.identity.member_id, name=cfg.name, client_urls=client_urls
            )
        )
        while server.membership.get(server.identity.member_id) is not None:
            if server.leader_id:
                with contextlib.suppress(Exception):
                    await server.propose(request)
                    return
            await asyncio.sleep(_PUBLISH_RETRY_SECONDS)

    def _no_peers(self, messages: list[Message]) -> None:
        # A one-member cluster without a peer listener has nobody to talk to; raft
        # sends nothing then, unless a member was added: say so once.
        if messages and not self._warned_no_peers:
            self._warned_no_peers = True
            log.warning("raft messages for other members are dropped: no peer_listener")


def _catch_up(backend: Backend, snapshot: Snapshot) -> None:
    """Load the newest snapshot into a backend that lost it (the memory engine does on
    every restart); the WAL replays the entries after it."""
    with backend.read() as txn:
        index, _ = applied.read(txn)
    if snapshot.data and index < snapshot.metadata.index:
        backend_stream.load(backend, schema.ALL_BUCKETS, [snapshot.data])


def _resolve(lookup, source: str, where: str):
    try:
        return lookup()
    except PluginError as exc:
        raise config_mod.ConfigError(f"{source}: {where}: {exc}") from None


@dataclass(slots=True, frozen=True)
class _Role:
    protocol: type
    unable: str  # what a transport without ``protocol`` cannot do


_CLIENTS = _Role(Transport, "cannot serve clients (it carries traffic between members only)")
_PEERS = _Role(PeerTransport, "cannot carry traffic between members")


def _listener(
    registry: Registry, cfg: ListenerConfig, source: str, where: str, role: _Role
) -> _Listener:
    """The transport ``cfg`` names, checked to play ``role``, with its options."""
    transport = _resolve(lambda: registry.transport(cfg.transport), source, f"{where}.transport")
    if not isinstance(transport, role.protocol):
        raise ConfigError(f"{source}: {where}.transport: {cfg.transport!r} {role.unable}")
    options = config_mod.validate_options(
        transport.options_model, cfg.options, source, f"{where}.options"
    )
    return _Listener(cfg, transport, options)


def _client_url(listener: ListenerConfig) -> str:
    return f"http://{listener.address}"
