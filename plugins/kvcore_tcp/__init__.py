"""kvcore's tcp transport: raft traffic between members as length-prefixed frames over
plain asyncio TCP connections (optionally TLS), a small fraction of gRPC's cost per
message. Peer traffic only; see ``wire.py`` for the protocol.

Packaged as any third-party transport is: this module's ``plugin`` is named by an
entry point in the ``kvcore.transports`` group.
"""

from kvcore.hookspecs import hookimpl

from .transport import TcpOptions, TcpTransport


class _Plugin:
    @hookimpl
    def kvcore_transports(self) -> list[TcpTransport]:
        return [TcpTransport()]


plugin = _Plugin()

__all__ = ["TcpOptions", "TcpTransport", "plugin"]
