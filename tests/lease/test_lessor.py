"""The lessor alone, with time passed by hand: grant, attach, revoke, expiry, promote,
demote, and what survives a reopen of the backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from kvcore_memory import MemoryEngine, MemoryOptions

from kvcore import errors, schema
from kvcore.api.leasepb.lease_pb2 import Lease as LeaseRecord
from kvcore.backend import Backend
from kvcore.lease.lessor import EXPIRED_RETRY_SECONDS, FOREVER, MAX_TTL, Lessor, min_ttl
from kvcore.mvcc import KVStore

MIN_TTL = 2


@pytest.fixture
def backend() -> Backend:
    return MemoryEngine().open(Path("."), schema.ALL_BUCKETS, MemoryOptions())


def opened(backend: Backend) -> tuple[Lessor, KVStore]:
    """A lessor loaded from ``backend`` and a store attaching keys to it, as the server
    opens them."""
    lessor = Lessor(MIN_TTL)
    with backend.read() as txn:
        lessor.load(txn)
    return lessor, KVStore(backend, leases=lessor)


def grant(lessor: Lessor, backend: Backend, lease_id: int, ttl: int, now: float = 0.0):
    with backend.write() as btx:
        lease = lessor.grant(btx, lease_id, ttl, now)
        btx.commit()
    return lease


def put(store: KVStore, backend: Backend, key: bytes, lease: int = 0) -> None:
    with backend.write() as btx:
        w = store.write(btx)
        w.put(key, b"v", lease)
        w.end()
        btx.commit()


def revoke(lessor: Lessor, store: KVStore, backend: Backend, lease_id: int) -> None:
    with backend.write() as btx:
        w = store.write(btx)
        lessor.revoke(btx, lease_id, w)
        w.end()
        btx.commit()


@pytest.mark.parametrize(
    ("election_ms", "heartbeat_ms", "expected"),
    [(1000, 100, 2), (500, 50, 1), (50, 10, 1), (5000, 100, 8), (3000, 1000, 4)],
)
def test_min_ttl_follows_etcd_rule(election_ms: int, heartbeat_ms: int, expected: int) -> None:
    # ceil(((3 * election_ticks) // 2) * heartbeat): 3000/1000 is 3 ticks -> 4 -> 4 s.
    assert min_ttl(election_ms, heartbeat_ms) == expected


def test_grant_raises_ttl_to_minimum_and_persists(backend: Backend) -> None:
    lessor, _ = opened(backend)
    assert grant(lessor, backend, 7, 1).ttl == MIN_TTL
    assert grant(lessor, backend, 8, 30).ttl == 30
    with backend.read() as txn:
        stored = {k: LeaseRecord.FromString(v) for k, v in txn.range(schema.LEASE, b"")}
    assert stored == {
        (7).to_bytes(8, "big"): LeaseRecord(ID=7, TTL=MIN_TTL),
        (8).to_bytes(8, "big"): LeaseRecord(ID=8, TTL=30),
    }


def test_grant_errors(backend: Backend) -> None:
    lessor, _ = opened(backend)
    grant(lessor, backend, 1, 10)
    with pytest.raises(errors.EtcdError) as exists:
        grant(lessor, backend, 1, 10)
    assert exists.value == errors.LEASE_EXIST
    with pytest.raises(errors.EtcdError) as too_large:
        grant(lessor, backend, 2, MAX_TTL + 1)
    assert too_large.value == errors.LEASE_TTL_TOO_LARGE
    assert [lease.id for lease in lessor.leases()] == [1]


def test_puts_attach_and_move_keys(backend: Backend) -> None:
    lessor, store = opened(backend)
    grant(lessor, backend, 1, 10)
    grant(lessor, backend, 2, 10)
    put(store, backend, b"a", 1)
    put(store, backend, b"b", 1)
    put(store, backend, b"c", 2)
    put(store, backend, b"b", 2)  # moves to lease 2
    put(store, backend, b"c")  # leaves its lease
    assert lessor.lookup(1).sorted_keys() == [b"a"]
    assert lessor.lookup(2).sorted_keys() == [b"b"]


def test_revoke_deletes_every_key_in_one_revision(backend: Backend) -> None:
    lessor, store = opened(backend)
    grant(lessor, backend, 1, 10)
    for key in (b"x", b"y", b"z"):
        put(store, backend, key, 1)
    put(store, backend, b"free")
    before = store.current_revision
    revoke(lessor, store, backend, 1)
    assert store.current_revision == before + 1
    assert [kv.key for kv in store.range(b"", b"").kvs] == [b"free"]
    assert not lessor.exists(1)
    with backend.read() as txn:
        assert list(txn.range(schema.LEASE, b"")) == []
    with pytest.raises(errors.EtcdError) as unknown:
        revoke(lessor, store, backend, 1)
    assert unknown.value == errors.LEASE_NOT_FOUND


def test_revoke_of_a_lease_without_keys_keeps_the_revision(backend: Backend) -> None:
    lessor, store = opened(backend)
    grant(lessor, backend, 1, 10)
    before = store.current_revision
    revoke(lessor, store, backend, 1)
    assert store.current_revision == before


def test_leases_and_attachments_survive_a_reopen(backend: Backend) -> None:
    lessor, store = opened(backend)
    grant(lessor, backend, 1, 10)
    grant(lessor, backend, 2, 20)
    put(store, backend, b"a", 1)
    put(store, backend, b"b", 2)
    put(store, backend, b"b", 1)
    with backend.write() as btx:
        w = store.write(btx)
        w.delete_range(b"a")
        w.end()
        btx.commit()
    reopened, _ = opened(backend)
    assert [(lease.id, lease.ttl) for lease in reopened.leases()] == [(1, 10), (2, 20)]
    assert reopened.lookup(1).sorted_keys() == [b"b"]
    assert reopened.lookup(2).sorted_keys() == []
    assert not reopened.primary
    assert reopened.lookup(1).expiry == FOREVER


def test_only_the_primary_expires(backend: Backend) -> None:
    lessor, _ = opened(backend)
    grant(lessor, backend, 1, 5, now=0.0)
    assert lessor.expired(now=1000.0, limit=10) == []  # not primary: never expires
    lessor.promote(extend=1.0, now=100.0)
    assert lessor.lookup(1).expiry == 106.0  # TTL + extension from the promotion
    assert lessor.expired(now=105.9, limit=10) == []
    assert lessor.expired(now=106.0, limit=10) == [1]
    # Handed out once; again only if its revoke has not happened within the retry time.
    assert lessor.expired(now=107.0, limit=10) == []
    assert lessor.expired(now=106.0 + EXPIRED_RETRY_SECONDS, limit=10) == [1]
    lessor.demote()
    assert lessor.expired(now=10_000.0, limit=10) == []
    assert lessor.lookup(1).expiry == FOREVER


def test_renew_restarts_the_clock(backend: Backend) -> None:
    lessor, _ = opened(backend)
    lessor.promote(extend=0.0, now=0.0)
    grant(lessor, backend, 1, 10, now=0.0)
    assert lessor.renew(1, now=8.0) == 10
    assert lessor.expired(now=12.0, limit=10) == []  # the old expiry no longer counts
    assert lessor.expired(now=18.0, limit=10) == [1]
    with pytest.raises(errors.EtcdError) as unknown:
        lessor.renew(99, now=0.0)
    assert unknown.value == errors.LEASE_NOT_FOUND


def test_expired_hands_out_at_most_limit_soonest_first(backend: Backend) -> None:
    lessor, _ = opened(backend)
    lessor.promote(extend=0.0, now=0.0)
    for lease_id in range(1, 11):
        grant(lessor, backend, lease_id, 10 + lease_id, now=0.0)
    assert lessor.expired(now=100.0, limit=4) == [1, 2, 3, 4]
    assert lessor.expired(now=100.0, limit=4) == [5, 6, 7, 8]
    assert lessor.expired(now=100.0, limit=4) == [9, 10]


def test_revoked_lease_is_not_handed_out(backend: Backend) -> None:
    lessor, store = opened(backend)
    lessor.promote(extend=0.0, now=0.0)
    grant(lessor, backend, 1, 5, now=0.0)
    revoke(lessor, store, backend, 1)
    assert lessor.expired(now=100.0, limit=10) == []


def test_promote_spreads_expiries_beyond_the_revoke_rate(backend: Backend) -> None:
    rate = 100
    lessor = Lessor(MIN_TTL, revoke_rate=rate)
    for lease_id in range(1, 1001):
        grant(lessor, backend, lease_id, 10)
    lessor.promote(extend=1.0, now=0.0)
    expiries = sorted(lease.expiry for lease in lessor.leases())
    assert expiries[0] == 11.0  # the first ones keep TTL + extension
    # In any one-second window at most 3/4 of the rate expire (plus the window's first).
    for i, start in enumerate(expiries):
        in_window = sum(1 for e in expiries[i:] if e < start + 1.0)
        assert in_window <= 3 * rate // 4 + 1, (start, in_window)
    assert expiries[-1] <= 11.0 + 1000 / (3 * rate // 4) + 1


def test_promote_leaves_few_leases_alone(backend: Backend) -> None:
    lessor = Lessor(MIN_TTL, revoke_rate=100)
    for lease_id in range(1, 100):
        grant(lessor, backend, lease_id, 10)
    lessor.promote(extend=1.0, now=0.0)
    assert {lease.expiry for lease in lessor.leases()} == {11.0}
