"""The applied index and term, kept in the meta bucket in the same backend transaction
as the entries' effects, so a replayed entry at or below it is known to be applied."""

from __future__ import annotations

import struct

from kvcore import schema
from kvcore.backend import ReadTxn, WriteTxn

_U64 = struct.Struct(">Q")


def read(txn: ReadTxn) -> tuple[int, int]:
    """(index, term) of the last applied entry; (0, 0) for a backend that has none."""
    index = txn.get(schema.META, schema.META_CONSISTENT_INDEX)
    term = txn.get(schema.META, schema.META_TERM)
    return (_U64.unpack(index)[0] if index else 0, _U64.unpack(term)[0] if term else 0)


def write(txn: WriteTxn, index: int, term: int) -> None:
    txn.put(schema.META, schema.META_CONSISTENT_INDEX, _U64.pack(index))
    txn.put(schema.META, schema.META_TERM, _U64.pack(term))
