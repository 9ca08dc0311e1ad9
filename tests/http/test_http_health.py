"""/health asks the node's services as etcd's handler asks its server."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from kvcore_http.transport import HttpServer
from support.ports import HOST, free_port

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb


class Maintenance:
    def __init__(self, leader: int, alarms: int) -> None:
        self._leader = leader
        self._alarms = alarms

    async def status(self, request: pb.StatusRequest, ctx: Any) -> pb.StatusResponse:
        return pb.StatusResponse(leader=self._leader)

    async def alarm(self, request: pb.AlarmRequest, ctx: Any) -> pb.AlarmResponse:
        assert request.action == pb.AlarmRequest.GET
        alarm = pb.AlarmMember(memberID=1, alarm=pb.NOSPACE)
        return pb.AlarmResponse(alarms=[alarm] * self._alarms)


class KV:
    def __init__(self, fails: bool) -> None:
        self._fails = fails

    async def range(self, request: pb.RangeRequest, ctx: Any) -> pb.RangeResponse:
        if self._fails:
            raise errors.TIMEOUT
        return pb.RangeResponse()


def _health(services: dict[str, Any]) -> tuple[int, bytes]:
    async def run() -> tuple[int, bytes]:
        address = f"{HOST}:{free_port()}"
        server = HttpServer(address, services, 1024)
        await server.start()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://{address}/health") as resp,
            ):
                return resp.status, await resp.read()
        finally:
            await server.stop(1.0)

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("leader", "alarms", "read_fails", "healthy"),
    [
        (1, 0, False, True),
        (0, 0, False, False),
        (1, 1, False, False),
        (1, 0, True, False),
    ],
)
def test_health(leader: int, alarms: int, read_fails: bool, healthy: bool):
    services = {
        "etcdserverpb.Maintenance": Maintenance(leader, alarms),
        "etcdserverpb.KV": KV(read_fails),
    }
    if healthy:
        assert _health(services) == (200, b'{"health":"true"}')
    else:
        assert _health(services) == (503, b'{"health":"false"}\n')  # Go's http.Error


def test_a_node_without_status_is_not_healthy():
    assert _health({}) == (503, b'{"health":"false"}\n')
