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

from kvcore import config as config_mod
from kvcore import schema
from kvcore.backend import Backend, Engine
from kvcore.config import ListenerConfig, NodeConfig
from kvcore.raft.config import Config as RaftNodeConfig
from kvcore.raft.driver import Driver
from kvcore.raft.messages import Message
from kvcore.raft.rawnode import RawNode
from kvcore.registry import PluginError, Registry
from kvcore.server import ids, services
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.membership import Member, Membership
from kvcore.server.raftlog import DurableLog, Identity
from kvcore.transport import Server, Transport

log = logging.getLogger("kvcore")

STOP_GRACE_SECONDS = 2.0


@dataclass(slots=True, frozen=True)
class _Listener:
    config: ListenerConfig
    transport: Transport
    options: Any


class Node:
    def __init__(self, cfg: NodeConfig, source: str, registry: Registry | None = None) -> None:
        registry = registry or Registry()
        self.cfg = cfg
        self.engine: Engine = _resolve(
            lambda: registry.engine(cfg.engine.name), source, "engine.name"
        )
        self.engine_options = config_mod.validate_options(
            self.engine.options_model, cfg.engine.options, source, "engine.options"
        )
        self.listeners = [
            _listener(registry, listener, source, f"client_listeners[{i}]")
            for i, listener in enumerate(cfg.client_listeners)
        ]
        member = ids.member_id(cfg.peer_urls, cfg.cluster_token)
        self.identity = Identity(member, ids.cluster_id([member]))
        self.membership = Membership(
            Member(
                id=member,
                name=cfg.name,
                peer_urls=list(cfg.peer_urls),
                client_urls=[_client_url(listener) for listener in cfg.client_listeners],
            )
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
            raft_log = DurableLog.open(
                member_dir / "raft", self.identity, [self.identity.member_id], cfg.wal.segment_bytes
            )
            try:
                await self._serve(backend, raft_log, stop)
            finally:
                raft_log.close()
        finally:
            backend.close()

    async def _serve(self, backend: Backend, raft_log: DurableLog, stop: asyncio.Event) -> None:
        cfg = self.cfg
        server = EtcdServer(self.identity, backend, cfg.limits)
        node = RawNode(
            RaftNodeConfig(
                id=self.identity.member_id,
                storage=raft_log.storage,
                applied=server.applied_index,
                election_tick=cfg.raft.election_timeout_ms // cfg.raft.heartbeat_interval_ms,
                heartbeat_tick=1,
            )
        )
        driver = Driver(node, raft_log, server, self._send, cfg.raft.heartbeat_interval_ms / 1000)
        server.attach(driver)
        handlers = services.build(server, self.membership)
        servers: list[Server] = []
        driver_task = asyncio.create_task(driver.run(), name="raft-driver")
        try:
            if node.status().voters == [self.identity.member_id]:
                driver.campaign()  # a lone voter need not wait out an election timeout
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
                "kvcore %s (member %x) listening for clients on %s; engine %s; data dir %s",
                cfg.name,
                self.identity.member_id,
                ", ".join(f"{x.config.transport}://{x.config.address}" for x in self.listeners),
                cfg.engine.name,
                cfg.data_dir,
            )
            stopped = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait(
                {stopped, driver_task}, return_when=asyncio.FIRST_COMPLETED
            )
            stopped.cancel()
            if driver_task in done:
                driver_task.result()  # the driver died: raise its error
        finally:
            for srv in reversed(servers):
                await srv.stop(STOP_GRACE_SECONDS)
            server.stop()
            driver_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver_task

    def _send(self, messages: list[Message]) -> None:
        # A one-member cluster has nobody to talk to; the raft core sends nothing then.
        if messages:
            log.warning("dropping %d raft messages: this node has no peers", len(messages))


def _resolve(lookup, source: str, where: str):
    try:
        return lookup()
    except PluginError as exc:
        raise config_mod.ConfigError(f"{source}: {where}: {exc}") from None


def _listener(registry: Registry, cfg: ListenerConfig, source: str, where: str) -> _Listener:
    transport = _resolve(lambda: registry.transport(cfg.transport), source, f"{where}.transport")
    options = config_mod.validate_options(
        transport.options_model, cfg.options, source, f"{where}.options"
    )
    return _Listener(cfg, transport, options)


def _client_url(listener: ListenerConfig) -> str:
    return f"http://{listener.address}"
