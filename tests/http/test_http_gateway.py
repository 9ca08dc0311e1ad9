"""The gateway's contract, in process, against handlers written for the test: streaming
in both directions, metadata, errors, unimplemented RPCs, cancellation and counts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from google.protobuf import descriptor_pool
from kvcore_http.routes import ROUTES
from kvcore_http.transport import HttpServer
from support.ports import HOST, free_port

from kvcore import errors, metrics
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.errors import Code
from kvcore.transport import CallContext

CALL_SECONDS = 10.0


class Lease:
    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], str]] = []

    async def lease_grant(self, request: pb.LeaseGrantRequest, ctx: CallContext):
        self.seen.append((dict(ctx.metadata), ctx.peer))
        return pb.LeaseGrantResponse(ID=request.ID, TTL=request.TTL)

    async def lease_revoke(self, request: pb.LeaseRevokeRequest, ctx: CallContext):
        raise errors.LEASE_NOT_FOUND

    async def lease_time_to_live(self, request: pb.LeaseTimeToLiveRequest, ctx: CallContext):
        raise RuntimeError("handler bug")

    async def lease_keep_alive(self, requests: AsyncIterator, ctx: CallContext):
        async for request in requests:
            yield pb.LeaseKeepAliveResponse(ID=request.ID, TTL=5)


class Watch:
    def __init__(self) -> None:
        self.closed = asyncio.Event()

    async def watch(self, requests: AsyncIterator, ctx: CallContext):
        try:
            async for request in requests:
                yield pb.WatchResponse(watch_id=request.create_request.watch_id, created=True)
            await asyncio.Event().wait()  # as etcd's: the stream outlives the requests
        finally:
            self.closed.set()


class Maintenance:
    async def snapshot(self, request: pb.SnapshotRequest, ctx: CallContext):
        if request.ByteSize():  # never: the request is empty; keeps this a generator
            yield pb.SnapshotResponse()
        raise errors.NO_SPACE


class MaintenanceMidway:
    async def snapshot(self, request: pb.SnapshotRequest, ctx: CallContext):
        yield pb.SnapshotResponse(blob=b"one", remaining_bytes=3)
        yield pb.SnapshotResponse(blob=b"two")
        raise errors.TIMEOUT


Scenario = Callable[[aiohttp.ClientSession, str], Awaitable[None]]


def serve(services: dict[str, Any], scenario: Scenario) -> None:
    async def run() -> None:
        address = f"{HOST}:{free_port()}"
        server = HttpServer(address, services, max_request_bytes=1 << 20)
        await server.start()
        try:
            timeout = aiohttp.ClientTimeout(total=CALL_SECONDS)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await scenario(session, f"http://{address}")
        finally:
            await server.stop(1.0)

    asyncio.run(run())


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, **kw: Any):
    async with session.post(url, data=body, **kw) as resp:
        return resp.status, resp.headers["Content-Type"], await resp.read()


def _lines(body: bytes) -> list[Any]:
    return [json.loads(line) for line in body.splitlines()]


def test_every_rpc_of_etcds_services_has_a_route():
    pool = descriptor_pool.Default()
    routed = set(ROUTES.values())
    services = {service for service, _ in routed}
    for name in services:
        for method in pool.FindServiceByName(name).methods:
            if (name, method.name) != ("etcdserverpb.Maintenance", "HashKV"):
                assert (name, method.name) in routed


def test_bidi_reads_concatenated_requests():
    async def scenario(session: aiohttp.ClientSession, url: str) -> None:
        status, kind, body = await _post(
            session, url + "/v3/lease/keepalive", b'{"ID":1}{"ID":"2"}\n {"ID":3}'
        )
        assert (status, kind) == (200, "application/json")
        assert body.endswith(b"\n")
        assert _lines(body) == [{"result": {"ID": str(i), "TTL": "5"}} for i in (1, 2, 3)]

    serve({"etcdserverpb.Lease": Lease()}, scenario)


def test_bidi_bad_first_request_fails_the_call_bad_later_one_ends_requests():
    async def scenario(session: aiohttp.ClientSession, url: str) -> None:
        status, _, body = await _post(session, url + "/v3/lease/keepalive", b"garbage")
        assert status == 500
        assert json.loads(body)["code"] == Code.UNKNOWN
        status, _, body = await _post(session, url + "/v3/lease/keepalive", b'{"ID":1} oops')
        assert (status, _lines(body)) == (200, [{"result": {"ID": "1", "TTL": "5"}}])

    serve({"etcdserverpb.Lease": Lease()}, scenario)


def test_headers_become_metadata():
    lease = Lease()

    async def scenario(session: aiohttp.ClientSession, url: str) -> None:
        headers = {"Authorization": "tok", "Grpc-Metadata-hasleader": "true", "X-Other": "no"}
        status, _, body = await _post(
            session, url + "/v3/lease/grant", b'{"TTL":9,"ID":4}', headers=headers
        )
        assert (status, json.loads(body)) == (200, {"ID": "4", "TTL": "9"})

    serve({"etcdserverpb.Lease": lease}, scenario)
    [(metadata, peer)] = lease.seen
    assert metadata == {"authorization": "tok", "hasleader": "true"}
    assert peer.startswith(f"ipv4:{HOST}:")


def test_unary_errors_and_counts():
    counts = metrics.rpc_counts("etcdserverpb.Lease", "LeaseRevoke", "unary")
    started, not_found = counts.started, counts.handled[Code.NOT_FOUND]

    async def scenario(session: aiohttp.ClientSession, url: str) -> None:
        status, kind, body = await _post(session, url + "/v3/lease/revoke", b'{"ID":1}')
        assert (status, kind) == (404, "application/json")
        message = "etcdserver: requested lease not found"
        assert json.loads(body) == {"error": message, "message": message, "code": 5}
        status, _, body = await _post(session, url + "/v3/lease/timetolive", b"{}")
        assert status == 500
        assert json.loads(body)["code"] == Code.UNKNOWN

    serve({"etcdserverpb.Lease": Lease()}, scenario)
    assert (counts.started, counts.handled[Code.NOT_FOUND]) == (started + 1, not_found + 1)


def test_unimplemented_rpcs():
    async def scenario(session: aiohttp.ClientSession, url: str) -> None:
        status, _, body = await _post(session, url + "/v3/kv/range", b"{}")
        assert (status, json.loads(body)["message"]) == (501, "unknown service etcdserverpb.KV")
        status, _, body = await _post(session, url + "/v3/lease/leases", b"{}")
        assert (status, json.loads(body)["code"]) == (501, Code.UNIMPLEMENTED)
        assert json.loads(body)["error"] == (
            "unknown method LeaseLeases for service etcdserverpb.Lease"
        )
        status, _, body = await _post(session, url + "/v3/watch", b"{}")
        assert status == 501
        assert json.loads(body) == {
            "error": {
                "grpc_code": 12,
                "http_code": 501,
                "message": "unknown service etcdserverpb.Watch",
                "http_status": "Not Implemented",
            }
        }

    serve({"etcdserverpb.Lease": Lease()}, scenario)


@pytest.mark.parametrize("midway", [False, True])
def test_stream_errors(midway: bool):
    async def scenario(session: aiohttp.ClientSession, url: str) -> None:
        status, _, body = await _post(session, url + "/v3/maintenance/snapshot", b"{}")
        *results, last = body.split(b"\n")
        error = json.loads(last)["error"]
        if midway:
            assert status == 200
            assert [json.loads(r)["result"]["blob"] for r in results] == ["b25l", "dHdv"]
            assert (error["grpc_code"], error["http_code"]) == (14, 503)
        else:
            assert (status, results) == (429, [])
            assert error == {
                "grpc_code": 8,
                "http_code": 429,
                "message": "etcdserver: mvcc: database space exceeded",
                "http_status": "Too Many Requests",
            }

    impl = MaintenanceMidway() if midway else Maintenance()
    serve({"etcdserverpb.Maintenance": impl}, scenario)


def test_client_that_leaves_a_watch_ends_it():
    watch = Watch()
    counts = metrics.rpc_counts("etcdserverpb.Watch", "Watch", "bidi_stream")
    canceled = counts.handled[Code.CANCELLED]

    async def scenario(session: aiohttp.ClientSession, url: str) -> None:
        body = b'{"create_request":{"key":"YQ==","watch_id":3}}'
        async with session.post(url + "/v3/watch", data=body) as resp:
            line = await resp.content.readline()
            assert json.loads(line) == {"result": {"watch_id": "3", "created": True}}
        async with asyncio.timeout(CALL_SECONDS):
            await watch.closed.wait()

    serve({"etcdserverpb.Watch": watch}, scenario)
    assert counts.handled[Code.CANCELLED] == canceled + 1


def test_listener_address_taken():
    async def run() -> None:
        address = f"{HOST}:{free_port()}"
        first = HttpServer(address, {}, 1024)
        await first.start()
        try:
            with pytest.raises(OSError, match="cannot listen"):
                await HttpServer(address, {}, 1024).start()
        finally:
            await first.stop(1.0)

    asyncio.run(run())
