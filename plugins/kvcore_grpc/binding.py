"""Binding a grpc.aio server to its address, with one error for every way it fails."""

from __future__ import annotations

import socket

import grpc

from kvcore.peer.address import split_host_port


async def bind_and_start(
    server: grpc.aio.Server,
    address: str,
    what: str,
    credentials: grpc.ServerCredentials | None = None,
) -> int:
    """Bind ``server`` to ``address`` (with TLS given ``credentials``) and start it;
    return the port it listens on. ``OSError`` if it cannot listen."""
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:  # how recent grpcio reports a failed bind
        port = 0
    if port == 0:
        await server.stop(None)  # else its finalizer needs this loop, maybe closed by then
        raise OSError(f"cannot listen for {what} on {address}")
    await server.start()
    return port


def check_free(address: str, what: str) -> None:
    """``OSError`` if something listens on ``address`` already. Servers that share an
    address through SO_REUSEPORT would otherwise share it with that listener too (a
    second member started on the same port), where one bind alone would fail."""
    host, port = split_host_port(address)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(f"cannot listen for {what} on {address}: {exc}") from exc
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # Connections of an earlier run in TIME_WAIT do not make the port taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            raise OSError(f"cannot listen for {what} on {address}: {exc}") from exc


def with_port(address: str, port: int) -> str:
    """``address`` with its port replaced (an ephemeral ``:0`` by the one bound)."""
    host, _ = split_host_port(address)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
