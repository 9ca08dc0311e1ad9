"""Binding a grpc.aio server to its address, with one error for every way it fails."""

from __future__ import annotations

import grpc


async def bind_and_start(
    server: grpc.aio.Server,
    address: str,
    what: str,
    credentials: grpc.ServerCredentials | None = None,
) -> None:
    """Bind ``server`` to ``address`` (with TLS given ``credentials``) and start it;
    ``OSError`` if it cannot listen."""
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
