"""The HTTP listener: an aiohttp server with the gateway routes and the GET endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from kvcore.transport import GRPC_OVERHEAD_BYTES, Services

from . import gateway, routes
from .endpoints import Endpoints

# Room for the JSON form of the largest request message etcd's gRPC server takes:
# base64 makes bytes 4/3 as long, and field names and quoting add more. What parses is
# then held to that message size, and the server to its own limit.
_JSON_OVERHEAD_FACTOR = 2
# How long calls in flight may run on once the listener stops. aiohttp takes it when the
# runner is built, before stop() is told the node's grace: it is the node's 2 s.
_DRAIN_SECONDS = 2.0


class HttpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpTransport:
    name = "http"
    options_model = HttpOptions

    def client_server(
        self, address: str, services: Services, options: HttpOptions, max_request_bytes: int
    ) -> HttpServer:
        return HttpServer(address, services, max_request_bytes)


@web.middleware
async def _go_style_errors(request: web.Request, handler: gateway.Handler) -> web.StreamResponse:
    """What etcd's access controller and muxes answer before any handler: 200 to a CORS
    preflight (OPTIONS, any path); 404 and 405 with the plain bodies Go writes (the
    gateway's own under /v3/, Go's mux's elsewhere)."""
    if request.method == "OPTIONS":
        return web.Response(status=200)
    try:
        return await handler(request)
    except web.HTTPNotFound:
        text = "Not Found\n" if _on_gateway(request) else _GO_NOT_FOUND
        return web.Response(status=404, text=text, headers=_GO_ERROR_HEADERS)
    except web.HTTPMethodNotAllowed:
        # etcd's own endpoints (/health, /version) say what they allow; the gateway not.
        headers = _GO_ERROR_HEADERS if _on_gateway(request) else _GO_ERROR_HEADERS | _ALLOW_GET
        return web.Response(status=405, text="Method Not Allowed\n", headers=headers)


def _on_gateway(request: web.Request) -> bool:
    return request.path.startswith(("/v3/", _OLD_PREFIX))


_GO_NOT_FOUND = "404 page not found\n"
# Go's http.Error sends this with every error it writes.
_GO_ERROR_HEADERS = {"X-Content-Type-Options": "nosniff"}
_ALLOW_GET = {"Allow": "GET"}
# etcd still serves its gateway's old prefix, as the same paths under /v3/.
_OLD_PREFIX = "/v3beta/"


async def _headers_as_etcds(request: web.Request, response: web.StreamResponse) -> None:
    # etcd's gateway allows any origin; browsers need these to call it.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS, PUT, DELETE"
    response.headers["Access-Control-Allow-Headers"] = "accept, content-type, authorization"
    # Go's HTTP server names no Server; aiohttp names itself and its version.
    response.headers.popall("Server", None)


class Gateway:
    """The gateway's routes and endpoints on an aiohttp runner, for connections any
    listener accepts: :meth:`open` gives the protocol factory to hand them to."""

    def __init__(self, services: Services, max_request_bytes: int) -> None:
        self._services = services
        self._max_message = max_request_bytes + GRPC_OVERHEAD_BYTES
        self._max_body = self._max_message * _JSON_OVERHEAD_FACTOR
        self.runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=self._max_body, middlewares=[_go_style_errors])
        for route in routes.bind(self._services):
            handler = gateway.handler_for(route, self._max_message)
            app.router.add_post(route.path, handler)
            app.router.add_post(route.path.replace("/v3/", _OLD_PREFIX, 1), handler)
        Endpoints(self._services).add_to(app)
        app.on_response_prepare.append(_headers_as_etcds)
        return app

    async def open(self) -> Callable[[], asyncio.Protocol]:
        # A client that goes away cancels its call, so that a watch it left ends.
        runner = web.AppRunner(
            self._app(),
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=_DRAIN_SECONDS,
        )
        await runner.setup()
        self.runner = runner
        assert runner.server is not None
        return runner.server

    async def close(self) -> None:
        """Close every connection it was handed, once calls in flight end."""
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


class HttpServer:
    def __init__(self, address: str, services: Services, max_request_bytes: int) -> None:
        self.address = address
        self._gateway = Gateway(services, max_request_bytes)

    async def start(self) -> None:
        host, _, port = self.address.rpartition(":")
        await self._gateway.open()
        assert self._gateway.runner is not None
        try:
            await web.TCPSite(
                self._gateway.runner, host.strip("[]"), int(port), reuse_port=False
            ).start()
        except OSError as exc:
            await self._gateway.close()
            raise OSError(f"cannot listen for clients on {self.address}: {exc}") from exc

    async def stop(self, grace: float) -> None:
        await self._gateway.close()
