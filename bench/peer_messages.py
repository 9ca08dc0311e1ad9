"""CPU per raft message carried by a peer transport, both ends in one process.

    python -m bench.peer_messages --messages 20000

Two members' peer networks on loopback in one uvloop loop; member 1 sends member 2
--messages heartbeats, --batch per ``send`` call (raft hands the network a batch per
step; 1 makes every message its own write), yielding to the loop between calls;
with --lockstep, waiting for each batch to arrive before sending the next, so that
neither transport can merge batches into one write (a quiet cluster's pattern).
Printed per transport: wall time and process CPU (all threads: grpc's too) per
message, from the first send until the last message is received (or reported
dropped), the best of --rounds runs: the machine's other load only ever adds.
"""

import argparse
import asyncio
import time

import uvloop

from kvcore.raft.messages import Message, MessageType
from kvcore.registry import Registry
from tests.support.ports import HOST, free_ports

CLUSTER_ID = 0xC1


class _Handler:
    """Counts what arrives, and (as the sender's handler) what is dropped."""

    def __init__(self) -> None:
        self.received = 0
        self.unreachable = 0
        self.done = asyncio.Event()
        self.expected = 0
        self.peer: _Handler | None = None  # the receiver whose count drops add to

    def receive(self, message: Message) -> None:
        self.received += 1
        self._check()

    def report_unreachable(self, peer_id: int) -> None:
        self.unreachable += 1
        if self.peer is not None:
            self.peer._check(self.unreachable)

    def _check(self, dropped: int = 0) -> None:
        if self.expected and self.received + dropped >= self.expected:
            self.done.set()

    def report_snapshot(self, peer_id: int, ok: bool) -> None:
        pass

    def members(self) -> bytes:
        return b""


async def measure(
    name: str, messages: int, batch: int, lockstep: bool = False
) -> tuple[float, float, int]:
    """(wall µs, CPU µs) per message, and how many were dropped."""
    transport = Registry().transport(name)
    ports = free_ports(2)
    handlers = [_Handler(), _Handler()]
    networks = [
        transport.peer_network(f"{HOST}:{port}", i + 1, CLUSTER_ID, h, transport.options_model())
        for i, (port, h) in enumerate(zip(ports, handlers, strict=True))
    ]
    peers = {i + 1: [f"http://{HOST}:{port}"] for i, port in enumerate(ports)}
    for network in networks:
        await network.start()
    for network in networks:
        network.set_peers(peers)
    sender, receiver = networks[0], handlers[1]
    while receiver.received < 200:  # the stream is up and warm
        sender.send([Message(type=MessageType.HEARTBEAT, to=2, frm=1, term=1)])
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.1)
    receiver.received, receiver.expected = 0, messages
    handlers[0].unreachable, handlers[0].peer = 0, receiver
    beats = [
        Message(type=MessageType.HEARTBEAT, to=2, frm=1, term=1, commit=i) for i in range(batch)
    ]
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(1, messages // batch + 1):
        sender.send(beats)
        if not lockstep:
            await asyncio.sleep(0)
            continue
        while receiver.received < i * batch:
            await asyncio.sleep(0)
    await asyncio.wait_for(receiver.done.wait(), 60)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    dropped = handlers[0].unreachable
    for network in networks:
        await network.stop(0)
    return wall / messages * 1e6, cpu / messages * 1e6, dropped


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.peer_messages", description=__doc__)
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--batch", type=int, default=1, help="messages per send call")
    p.add_argument("--transports", default="tcp,grpc")
    p.add_argument("--rounds", type=int, default=3, help="runs per transport; the best counts")
    p.add_argument("--lockstep", action="store_true", help="each batch arrives before the next")
    args = p.parse_args()
    for name in args.transports.split(","):
        runs = [
            uvloop.run(measure(name, args.messages, args.batch, args.lockstep))
            for _ in range(args.rounds)
        ]
        wall, cpu, dropped = min(runs, key=lambda run: run[1])
        mode = "lockstep" if args.lockstep else "streaming"
        print(
            f"{name:5} {args.messages} messages, {args.batch} per send, {mode}: "
            f"{wall:6.1f} µs wall, {cpu:6.1f} µs CPU per message"
            + (f" ({dropped} dropped)" if dropped else "")
        )


if __name__ == "__main__":
    main()
