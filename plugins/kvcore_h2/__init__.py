"""kvcore's h2 transport: etcd's v3 gRPC API for clients, served by kvcore's own
HTTP/2 framing on the event loop instead of grpc.aio (``transport.py`` says why).

Packaged as any third-party transport is: this module's ``plugin`` is named by an
entry point in the ``kvcore.transports`` group.
"""

from kvcore.hookspecs import hookimpl

from .transport import H2Transport


class _Plugin:
    @hookimpl
    def kvcore_transports(self) -> list[H2Transport]:
        return [H2Transport()]


plugin = _Plugin()

__all__ = ["H2Transport", "plugin"]
