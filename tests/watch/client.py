"""A blocking Watch client over one gRPC stream, for tests: send requests, collect
what the server answers, with timeouts instead of hangs."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc

from kvcore.api.etcdserverpb import rpc_pb2, rpc_pb2_grpc

WAIT_SECONDS = 10.0
_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]


class WatchClient:
    """One channel and one Watch stream; use as a context manager.

    ``paused``: responses are not read (the server's sends back up, as with a stuck
    client) until :meth:`resume`.
    """

    def __init__(self, endpoint: str, paused: bool = False) -> None:
        self._reading = threading.Event()
        if not paused:
            self._reading.set()
        self._channel = grpc.insecure_channel(endpoint, options=_OPTIONS)
        self._requests: queue.Queue[rpc_pb2.WatchRequest | None] = queue.Queue()
        self._responses: queue.Queue[rpc_pb2.WatchResponse | BaseException] = queue.Queue()
        self._call = rpc_pb2_grpc.WatchStub(self._channel).Watch(self._outgoing())
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> WatchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resume(self) -> None:
        self._reading.set()

    def close(self) -> None:
        self._reading.set()
        self._call.cancel()
        self._requests.put(None)
        self._channel.close()
        self._reader.join(WAIT_SECONDS)

    def _outgoing(self) -> Iterator[rpc_pb2.WatchRequest]:
        while (request := self._requests.get()) is not None:
            yield request

    def _read(self) -> None:
        try:
            while True:
                self._reading.wait()
                self._responses.put(next(self._call))
        except StopIteration:
            return
        except grpc.RpcError as exc:
            self._responses.put(exc)

    def create(self, key: bytes, **fields: Any) -> None:
        request = rpc_pb2.WatchCreateRequest(key=key, **fields)
        self._requests.put(rpc_pb2.WatchRequest(create_request=request))

    def cancel(self, watch_id: int) -> None:
        request = rpc_pb2.WatchCancelRequest(watch_id=watch_id)
        self._requests.put(rpc_pb2.WatchRequest(cancel_request=request))

    def request_progress(self) -> None:
        request = rpc_pb2.WatchProgressRequest()
        self._requests.put(rpc_pb2.WatchRequest(progress_request=request))

    def next(self, timeout: float = WAIT_SECONDS) -> rpc_pb2.WatchResponse:
        """The next response; fails after ``timeout`` seconds or if the stream broke."""
        try:
            got = self._responses.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no watch response within {timeout} s") from None
        if isinstance(got, BaseException):
            raise AssertionError(f"watch stream failed: {got}")
        return got

    def failure(self, timeout: float = WAIT_SECONDS) -> grpc.RpcError:
        """How the stream ended; fails if a response or nothing comes instead."""
        got = self._responses.get(timeout=timeout)
        assert isinstance(got, grpc.RpcError), f"expected the stream to fail, got {got}"
        return got

    def take(self, count: int, timeout: float = WAIT_SECONDS) -> list[rpc_pb2.WatchResponse]:
        return [self.next(timeout) for _ in range(count)]

    def quiet(self, seconds: float) -> list[rpc_pb2.WatchResponse]:
        """Whatever arrives within the next ``seconds`` (nothing, if the server is done)."""
        deadline = time.monotonic() + seconds
        got = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self._responses.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(item, BaseException):
                raise AssertionError(f"watch stream failed: {item}")
            got.append(item)
        return got
