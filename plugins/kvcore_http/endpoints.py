"""GET /health, /version and /metrics, in etcd's shapes.

/health asks the node's own services, as etcd's handler asks its server: unhealthy
while an alarm is raised, while no leader is known, or when a linearizable read does
not complete within a second. 200 ``{"health":"true"}``, else 503 ``{"health":"false"}``.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from kvcore import CLUSTER_VERSION, ETCD_API_VERSION, metrics
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.transport import Services, StaticCallContext, handler_name

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 1.0
# etcd writes /health without a content type; Go's sniffer then names it so.
_HEALTH_CONTENT_TYPE = "text/plain; charset=utf-8"


def _compact(data: dict[str, str]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _method(services: Services, service: str, rpc: str):
    impl = services.get(service)
    return None if impl is None else getattr(impl, handler_name(rpc), None)


class Endpoints:
    def __init__(self, services: Services) -> None:
        self._status = _method(services, "etcdserverpb.Maintenance", "Status")
        self._alarm = _method(services, "etcdserverpb.Maintenance", "Alarm")
        self._range = _method(services, "etcdserverpb.KV", "Range")

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/health", self.health)
        app.router.add_get("/version", self.version)
        app.router.add_route("*", "/metrics", self.metrics)  # as promhttp: any method

    async def health(self, request: web.Request) -> web.Response:
        healthy = await self._healthy()
        body = _compact({"health": "true" if healthy else "false"})
        return web.Response(
            status=200 if healthy else 503,
            body=body if healthy else body + b"\n",  # the latter through Go's http.Error
            headers={"Content-Type": _HEALTH_CONTENT_TYPE},
        )

    async def _healthy(self) -> bool:
        ctx = StaticCallContext()
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                if self._alarm is not None:
                    alarms = await self._alarm(pb.AlarmRequest(action=pb.AlarmRequest.GET), ctx)
                    if alarms.alarms:
                        return False
                if self._status is None or not (await self._status(pb.StatusRequest(), ctx)).leader:
                    return False
                if self._range is not None:
                    await self._range(pb.RangeRequest(key=b"health"), ctx)
        except Exception as exc:  # any failure is an unhealthy answer, not an error
            log.info("health check failed: %s", exc or type(exc).__name__)
            return False
        return True

    async def version(self, request: web.Request) -> web.Response:
        body = {"etcdserver": ETCD_API_VERSION, "etcdcluster": CLUSTER_VERSION}
        return web.Response(body=_compact(body), content_type="application/json")

    async def metrics(self, request: web.Request) -> web.Response:
        response = web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}
        )
        response.enable_chunked_encoding()  # as promhttp's answer, whose length is unknown
        return response
