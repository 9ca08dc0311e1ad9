"""Round trips of every codec on generated values, and rejection of bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvcore.raft import codec
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Snapshot,
    SnapshotMetadata,
)

u64 = st.integers(0, 2**64 - 1)
small = st.integers(0, 2**20)
blobs = st.binary(max_size=64)
ids = st.lists(u64, max_size=5)

entries = st.builds(Entry, term=u64, index=u64, type=st.sampled_from(EntryType), data=blobs)
hard_states = st.builds(HardState, term=u64, vote=u64, commit=u64)
conf_states = st.builds(ConfState, voters=ids, learners=ids)
metas = st.builds(SnapshotMetadata, index=u64, term=u64, conf_state=conf_states)
snapshots = st.builds(Snapshot, metadata=metas, data=blobs)
conf_changes = st.builds(
    ConfChange, type=st.sampled_from(ConfChangeType), node_id=u64, context=blobs
)
messages = st.builds(
    Message,
    type=st.sampled_from(MessageType),
    to=u64,
    frm=u64,
    term=u64,
    log_term=u64,
    index=u64,
    entries=st.lists(entries, max_size=4),
    commit=u64,
    reject=st.booleans(),
    reject_hint=u64,
    snapshot=st.none() | snapshots,
    context=blobs,
)

PAIRS = [
    (entries, codec.encode_entry, codec.decode_entry),
    (hard_states, codec.encode_hard_state, codec.decode_hard_state),
    (conf_states, codec.encode_conf_state, codec.decode_conf_state),
    (metas, codec.encode_snapshot_metadata, codec.decode_snapshot_metadata),
    (snapshots, codec.encode_snapshot, codec.decode_snapshot),
    (conf_changes, codec.encode_conf_change, codec.decode_conf_change),
    (messages, codec.encode_message, codec.decode_message),
]


@pytest.mark.parametrize(("strategy", "enc", "dec"), PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_round_trip(strategy, enc, dec) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=60, deadline=None)
    @given(strategy)
    def check(value) -> None:  # type: ignore[no-untyped-def]
        data = enc(value)
        assert dec(data) == value
        # Any strict prefix is truncated and must be rejected, as must trailing bytes.
        if data:
            with pytest.raises(codec.CodecError):
                dec(data[: len(data) // 2] if len(data) > 1 else b"")
        with pytest.raises(codec.CodecError):
            dec(data + b"\x00")

    check()


def test_rejects_unknown_enum_and_version() -> None:
    data = bytearray(codec.encode_message(Message(MessageType.APP, to=1, frm=2, term=3)))
    data[1] = 200
    with pytest.raises(codec.CodecError):
        codec.decode_message(bytes(data))
    data[0] = 9
    with pytest.raises(codec.CodecError):
        codec.decode_message(bytes(data))
    with pytest.raises(codec.CodecError):
        codec.decode_entry(b"\x07" + bytes(20))


def test_layout_is_stable() -> None:
    # The WAL stores these bytes: a change here breaks reading old logs.
    e = Entry(term=2, index=7, type=EntryType.CONF_CHANGE, data=b"ab")
    assert codec.encode_entry(e).hex() == (
        "01" + "0000000000000002" + "0000000000000007" + "00000002" + "6162"
    )
    hs = HardState(term=3, vote=1, commit=9)
    assert codec.encode_hard_state(hs).hex() == f"{3:016x}{1:016x}{9:016x}"
