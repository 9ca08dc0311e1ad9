"""The alarm table (etcd's v3alarm.AlarmStore) and what an active alarm forbids.

Alarms are raised and cleared only through raft (``InternalRaftRequest.alarm``), so
every member holds the same table. Each active alarm is one key of the ``alarm``
bucket, the serialized ``AlarmMember`` with an empty value, exactly as etcd keeps it;
the table is read back when the store opens (start, restart, snapshot restore).

While NOSPACE is active, applying a put, a txn that could put, or a lease grant fails
with "database space exceeded" (etcd's capped applier); while CORRUPT is active every
applied KV and lease request fails with "corrupt cluster". Reads served locally,
deletes (for NOSPACE), compaction (for NOSPACE) and alarm requests still work.
"""

from __future__ import annotations

from typing import Any

from kvcore import errors, schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.backend import ReadTxn, WriteTxn
from kvcore.server import quota

_NOSPACE = pb.AlarmType.NOSPACE
_CORRUPT = pb.AlarmType.CORRUPT
# The applied requests each alarm refuses (by InternalRaftRequest field name).
_CORRUPT_REFUSES = frozenset(
    {"put", "delete_range", "txn", "compaction", "lease_grant", "lease_revoke"}
)


class AlarmStore:
    def __init__(self, members: set[tuple[int, int]]) -> None:
        self._active = members  # (member id, alarm type)

    @classmethod
    def load(cls, txn: ReadTxn) -> AlarmStore:
        members = set()
        for key, _ in txn.range(schema.ALARM, b""):
            member = pb.AlarmMember.FromString(key)
            members.add((member.memberID, member.alarm))
        return cls(members)

    def get(self, alarm: int = pb.AlarmType.NONE) -> list[pb.AlarmMember]:
        """Active alarms of type ``alarm`` (NONE: of every type), in a stable order."""
        return [
            pb.AlarmMember(memberID=member_id, alarm=kind)
            for member_id, kind in sorted(self._active, key=lambda m: (m[1], m[0]))
            if alarm == pb.AlarmType.NONE or kind == alarm
        ]

    def is_active(self, alarm: int) -> bool:
        return any(kind == alarm for _, kind in self._active)

    def apply(self, btx: WriteTxn, request: pb.AlarmRequest) -> pb.AlarmResponse:
        """Apply an AlarmRequest as etcd's applier does; the response has no header yet."""
        response = pb.AlarmResponse()
        entry = (request.memberID, request.alarm)
        member = pb.AlarmMember(memberID=request.memberID, alarm=request.alarm)
        if request.action == pb.AlarmRequest.GET:
            response.alarms.extend(self.get(request.alarm))
        elif request.action == pb.AlarmRequest.ACTIVATE:
            # Any type is kept, NONE too, as etcd keeps it; only member 0's NONE, an
            # empty key (which crashes etcd), is not.
            key = member.SerializeToString()
            if key:
                if entry not in self._active:
                    self._active.add(entry)
                    btx.put(schema.ALARM, key, b"")
                response.alarms.append(member)
        elif request.action == pb.AlarmRequest.DEACTIVATE and entry in self._active:
            self._active.discard(entry)
            btx.delete(schema.ALARM, member.SerializeToString())
            response.alarms.append(member)
        return response

    def check_apply(self, name: str, body: Any) -> None:
        """Raise the error an active alarm gives the applied request ``name``."""
        if not self._active:
            return  # the common case, checked on every applied request
        if self.is_active(_CORRUPT) and name in _CORRUPT_REFUSES:
            raise errors.CORRUPT
        if self.is_active(_NOSPACE) and quota.cost(name, body) > 0:
            raise errors.NO_SPACE

    def status_errors(self) -> list[str]:
        """Status.errors entries, each as etcd prints an AlarmMember (gogo's compact text,
        which leaves out zero fields)."""
        return [
            (f"memberID:{m.memberID} " if m.memberID else "")
            + (f"alarm:{pb.AlarmType.Name(m.alarm)} " if m.alarm else "")
            for m in self.get()
        ]
