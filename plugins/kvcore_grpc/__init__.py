"""kvcore's gRPC transport: etcd's v3 gRPC API for clients, and raft traffic between
members (a stream of raft messages per peer, snapshots in chunks).

Packaged as any third-party transport is: this module's ``plugin`` is named by an
entry point in the ``kvcore.transports`` group.
"""

from kvcore.hookspecs import hookimpl

from .transport import GrpcTransport


class _Plugin:
    @hookimpl
    def kvcore_transports(self) -> list[GrpcTransport]:
        return [GrpcTransport()]


plugin = _Plugin()

__all__ = ["GrpcTransport", "plugin"]
