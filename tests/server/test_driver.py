"""The driver batches: proposals made while a batch is on disk share the next fsync."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

from kvcore.raft.bootstrap import bootstrap
from kvcore.raft.config import Config
from kvcore.raft.driver import Driver
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.rawnode import RawNode
from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import Entry, EntryType, HardState, Snapshot


class _SlowLog:
    """Counts persist calls; each takes as long as a slow fsync."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self.persist_calls = 0
        self.persisted: set[int] = set()
        self.on_loop_thread: list[bool] = []

    def persist(
        self,
        hard_state: HardState | None,
        entries: list[Entry],
        snapshot: Snapshot | None,
        sync: bool = True,
    ) -> None:
        if sync:  # a synced write must never block the event loop
            self.on_loop_thread.append(threading.current_thread() is threading.main_thread())
        self.persist_calls += 1
        time.sleep(0.02)
        self.persisted.update(e.index for e in entries)

    def mirror(
        self, hard_state: HardState | None, entries: list[Entry], snapshot: Snapshot | None
    ) -> None:
        if entries:
            self.storage.append(entries)
        if hard_state is not None:
            self.storage.set_hard_state(hard_state)


class _Machine:
    def __init__(self, log: _SlowLog) -> None:
        self.log = log
        self.applied: list[bytes] = []
        self.applied_before_persisted = False
        self.done = asyncio.Event()
        self.expected = 0

    def restore(self, snapshot: Snapshot) -> None:
        raise AssertionError("no snapshot expected")

    def apply(self, entries: Sequence[Entry]) -> None:
        for e in entries:
            if e.index not in self.log.persisted:
                self.applied_before_persisted = True
            if e.type == EntryType.NORMAL and e.data:
                self.applied.append(e.data)
        if len(self.applied) >= self.expected:
            self.done.set()

    def on_read_states(self, states) -> None:
        pass

    def on_soft_state(self, state) -> None:
        pass

    def snapshot_due(self) -> None:
        return None

    @property
    def pending_proposals(self) -> int:
        return self.expected - len(self.applied)


def _one_member() -> tuple[RawNode, _SlowLog, _Machine, Driver]:
    """A driver of a one-voter cluster, over the slow log, sending nowhere."""
    storage = MemoryStorage()
    bootstrap(storage, [1])
    node = RawNode(Config(id=1, storage=storage))
    log = _SlowLog(storage)
    machine = _Machine(log)
    return node, log, machine, Driver(node, log, machine, send=lambda msgs: None, tick_seconds=0.01)


def test_concurrent_proposals_share_fsyncs() -> None:
    async def scenario() -> None:
        node, log, machine, driver = _one_member()
        machine.expected = 100
        task = asyncio.create_task(driver.run())
        driver.campaign()
        while node.leader_id != 1:
            await asyncio.sleep(0.005)
        calls_before = log.persist_calls
        for i in range(100):
            driver.propose(b"%d" % i)
            if i % 10 == 0:
                await asyncio.sleep(0.005)  # proposals keep arriving during fsyncs
        await asyncio.wait_for(machine.done.wait(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        assert machine.applied == [b"%d" % i for i in range(100)]
        assert not machine.applied_before_persisted
        assert log.persist_calls - calls_before <= 10  # ~100 ms of proposals, 20 ms fsyncs
        assert not any(log.on_loop_thread)  # under load the disk never blocks the loop

    asyncio.run(scenario())


def test_leader_appends_go_out_before_its_fsync_and_commit_after_it() -> None:
    """Votes go out only once the candidate's term is durable; a leader's appends go
    out before its own fsync, and its entries commit (and apply) only after it."""

    async def scenario() -> None:
        storage = MemoryStorage()
        bootstrap(storage, [1, 2, 3])
        node = RawNode(Config(id=1, storage=storage, pre_vote=False))
        log = _SlowLog(storage)
        machine = _Machine(log)
        machine.expected = 1
        # (type, whether what it depends on was durable here when it went out): a vote
        # depends on the term, an append on its entries.
        sent: list[tuple[MessageType, bool]] = []

        def send(messages: list[Message]) -> None:
            for m in messages:
                if m.type == MessageType.VOTE:
                    sent.append((m.type, storage.initial_state()[0].term == m.term))
                elif m.entries:
                    sent.append((m.type, all(e.index in log.persisted for e in m.entries)))

        driver = Driver(node, log, machine, send=send, tick_seconds=10)
        founded = storage.last_index()
        task = asyncio.create_task(driver.run())
        driver.campaign()
        while not sent:
            await asyncio.sleep(0.005)
        assert {s for s in sent} == {(MessageType.VOTE, True)}
        driver.step(Message(MessageType.VOTE_RESP, to=1, frm=2, term=node.term))
        while node.leader_id != 1:
            await asyncio.sleep(0.005)
        empty = founded + 1  # the leader's empty entry
        for follower in (2, 3):  # both hold it: replicate to them
            driver.step(
                Message(MessageType.APP_RESP, to=1, frm=follower, term=node.term, index=empty)
            )
        while node.status().hard_state.commit < empty:
            await asyncio.sleep(0.005)
        sent.clear()
        driver.propose(b"x")
        while len(sent) < 2:
            await asyncio.sleep(0.001)
        last = node.status().hard_state.commit
        # To both followers, before the leader's own fsync of the entry.
        assert {s for s in sent} == {(MessageType.APP, False)}
        for follower in (2, 3):
            driver.step(
                Message(MessageType.APP_RESP, to=1, frm=follower, term=node.term, index=empty + 1)
            )
        await asyncio.wait_for(machine.done.wait(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert machine.applied == [b"x"] and last < empty + 1
        assert not machine.applied_before_persisted

    asyncio.run(scenario())


def test_a_lone_write_is_synced_on_the_loop() -> None:
    """With one proposal in flight, its entry is synced without the disk thread's round
    trip, and still before it is applied."""

    async def scenario() -> None:
        node, log, machine, driver = _one_member()
        task = asyncio.create_task(driver.run())
        driver.campaign()
        while node.status().applied < 2:  # the leader's own empty entry is in
            await asyncio.sleep(0.005)
        for i in range(3):
            log.on_loop_thread.clear()
            machine.expected += 1
            machine.done.clear()
            driver.propose(b"%d" % i)
            await asyncio.wait_for(machine.done.wait(), 10)
            assert log.on_loop_thread == [True], (i, log.on_loop_thread)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert machine.applied == [b"0", b"1", b"2"]
        assert not machine.applied_before_persisted

    asyncio.run(scenario())


def test_a_received_append_is_persisted_and_acked_within_its_step() -> None:
    """An append reaching an idle follower is synced and answered inside ``step`` (no
    loop turn between); one that arrives while the disk is busy waits for the next
    Ready."""

    async def scenario() -> None:
        storage = MemoryStorage()
        bootstrap(storage, [1, 2, 3])
        node = RawNode(Config(id=2, storage=storage))
        log = _SlowLog(storage)
        machine = _Machine(log)
        acks: list[int] = []

        def send(messages: list[Message]) -> None:
            acks.extend(m.index for m in messages if m.type == MessageType.APP_RESP)

        driver = Driver(node, log, machine, send=send, tick_seconds=10)
        task = asyncio.create_task(driver.run())
        await asyncio.sleep(0.05)  # running, and the initial Ready handled
        last = storage.last_index()
        term = storage.term(last)

        def append(index: int, count: int) -> Message:
            entries = [Entry(term=term + 1, index=index + i, data=b"e") for i in range(count)]
            prev_term = term if index - 1 == last else term + 1
            return Message(
                MessageType.APP, to=2, frm=1, term=term + 1, log_term=prev_term,
                index=index - 1, commit=last, entries=entries,
            )

        driver.step(append(last + 1, 1))
        assert last + 1 in log.persisted and acks == [last + 1]

        # Two entries go to the disk thread; an append arriving meanwhile is not
        # persisted in its step but right after, in a Ready of its own.
        calls = log.persist_calls
        driver.step(append(last + 2, 2))
        driver.step(append(last + 4, 1))
        assert last + 4 not in log.persisted
        while last + 4 not in acks:
            await asyncio.sleep(0.005)
        assert log.persist_calls - calls == 2
        assert acks == [last + 1, last + 3, last + 4]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
