"""kvcore's HTTP transport: etcd's grpc-gateway JSON API, and GET /health, /version and
/metrics, on a client listener of its own.

``client_listeners: [{transport: http, address: 127.0.0.1:2381}]`` beside the gRPC
listener serves ``POST /v3/kv/range`` and every other route of etcd's gateway (see
:mod:`.routes`) to curl, browsers and clients such as ``etcd3gw``, with the JSON etcd
writes (:mod:`.codec`) and the answers it gives (:mod:`.gateway`).

A listener of its own, where etcd serves the gateway on its gRPC port: etcd splits one
socket between gRPC and HTTP/1.1 by sniffing each connection's first bytes (cmux), but
grpcio's server owns its socket in its C core and takes no connection handed to it, so
one port cannot carry both in kvcore. A separate address costs clients one more URL and
keeps each transport a plugin that owns its listener.

aiohttp serves it: the asyncio HTTP server most used in Python, it runs on the node's
own event loop (uvloop too) with no separate server process, streams both request and
response bodies (watch and keepalive read JSON requests as they arrive and write each
response as it comes), cancels a call whose client went away, and has the explicit
setup/cleanup lifecycle the node's start and stop need.

Packaged as any third-party transport is: this module's ``plugin`` is named by an
entry point in the ``kvcore.transports`` group.
"""

from kvcore.hookspecs import hookimpl

from .transport import HttpTransport


class _Plugin:
    @hookimpl
    def kvcore_transports(self) -> list[HttpTransport]:
        return [HttpTransport()]


plugin = _Plugin()

__all__ = ["HttpTransport", "plugin"]
