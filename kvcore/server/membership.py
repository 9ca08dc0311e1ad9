"""The cluster's members: who they are, how to reach them, which are learners.

Kept in the backend's ``members`` and ``members_removed`` buckets and changed only by
applying committed entries (in the same backend transaction as the applied index), so
every member holds the same table and snapshots carry it. Member ids and the cluster
id are derived as etcd derives them (see ``kvcore.server.ids``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from kvcore import errors, schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.backend import ReadTxn, WriteTxn
from kvcore.raft.quorum import majority

_ID = struct.Struct(">Q")
_CLUSTER_ID_KEY = b"clusterID"
_CLUSTER_VERSION_KEY = b"clusterVersion"


@dataclass(slots=True)
class Member:
    id: int
    name: str
    peer_urls: list[str]
    client_urls: list[str] = field(default_factory=list)
    is_learner: bool = False

    def to_pb(self) -> pb.Member:
        return pb.Member(
            ID=self.id,
            name=self.name,
            peerURLs=self.peer_urls,
            clientURLs=self.client_urls,
            isLearner=self.is_learner,
        )

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Member:
        return cls(**data)


def parse_peer_urls(urls: Iterable[str]) -> list[str]:
    """A member's peer URLs as etcd's ``types.NewURLs`` takes them: trimmed, each
    ``scheme://host:port`` with scheme http, https, unix or unixs and no path, sorted.
    Anything else, or none, is etcd's "given member URLs are invalid"."""
    taken = sorted(url.strip() for url in urls)
    if not taken:
        raise errors.MEMBER_BAD_URLS
    for url in taken:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise errors.MEMBER_BAD_URLS from None
        if parts.scheme not in _URL_SCHEMES or parts.path or not _is_host_port(parts.netloc):
            raise errors.MEMBER_BAD_URLS
    return taken


_URL_SCHEMES = ("http", "https", "unix", "unixs")


def _is_host_port(netloc: str) -> bool:
    """Go's ``net.SplitHostPort`` would split it: ``host:port`` or ``[v6]:port``; the
    port need not be a number (etcd checks no more)."""
    if netloc.startswith("["):
        end = netloc.find("]")
        return end > 0 and netloc[end + 1 : end + 2] == ":" and ":" not in netloc[end + 2 :]
    host, sep, _ = netloc.rpartition(":")
    return bool(sep) and ":" not in host and "[" not in host and "]" not in host


def _started(members: Iterable[Member]) -> int:
    """How many of ``members`` have started (published their name)."""
    return sum(1 for m in members if m.name)


class Membership:
    """The member table, cached in memory, written through a backend transaction."""

    def __init__(self, local_id: int, cluster_id: int, members: dict[int, Member]) -> None:
        self.local_id = local_id
        self.cluster_id = cluster_id
        self._members = members
        self._removed: set[int] = set()
        self.cluster_version: str | None = None  # until a leader records it

    # --- reading --------------------------------------------------------------------

    @property
    def local(self) -> Member:
        return self._members[self.local_id]

    def members(self) -> list[Member]:
        return sorted(self._members.values(), key=lambda m: m.id)

    def get(self, member_id: int) -> Member | None:
        return self._members.get(member_id)

    def is_removed(self, member_id: int) -> bool:
        return member_id in self._removed

    def peers(self) -> dict[int, list[str]]:
        """Every other member's peer URLs, for the peer network."""
        return {m.id: m.peer_urls for m in self._members.values() if m.id != self.local_id}

    def with_peer_url(self, urls: list[str]) -> Member | None:
        wanted = set(urls)
        return next((m for m in self._members.values() if wanted & set(m.peer_urls)), None)

    # --- etcd's strict reconfiguration check (--strict-reconfig-check, on by default):
    # a change is refused when the voters it leaves would need members that have not
    # started (an added member starts once it publishes its name) for a quorum.

    def voters(self) -> list[Member]:
        return [m for m in self._members.values() if not m.is_learner]

    def ready_to_add_voter(self) -> bool:
        voters = self.voters()
        started = _started(voters)
        if started == 1 and len(voters) == 1:
            return True  # a second member for a lone one (etcd: restoring a cluster)
        return started >= majority(len(voters) + 1)

    def ready_to_remove_voter(self, member_id: int) -> bool:
        rest = [m for m in self.voters() if m.id != member_id]
        return _started(rest) >= majority(len(rest))

    def ready_to_promote(self) -> bool:
        """The learner counts as a started voter of the configuration it joins."""
        voters = self.voters()
        return _started(voters) + 1 >= majority(len(voters) + 1)

    # --- changes (the applier calls these with the apply batch's transaction) --------

    def add(self, txn: WriteTxn, member: Member) -> None:
        self._members[member.id] = member
        self._put(txn, member)

    def remove(self, txn: WriteTxn, member_id: int) -> None:
        self._members.pop(member_id, None)
        self._removed.add(member_id)
        txn.delete(schema.MEMBERS, _ID.pack(member_id))
        txn.put(schema.MEMBERS_REMOVED, _ID.pack(member_id), b"removed")

    def update(self, txn: WriteTxn, member: Member) -> None:
        """Store a changed member (promotion, new peer URLs, published attributes)."""
        self.add(txn, member)

    def set_cluster_version(self, txn: WriteTxn, version: str) -> None:
        self.cluster_version = version
        txn.put(schema.CLUSTER, _CLUSTER_VERSION_KEY, version.encode())

    def _put(self, txn: WriteTxn, member: Member) -> None:
        txn.put(schema.MEMBERS, _ID.pack(member.id), json.dumps(member.to_json()).encode())

    # --- persistence ------------------------------------------------------------------

    def save_all(self, txn: WriteTxn) -> None:
        """Write the whole table and the cluster id (a new member's first state)."""
        txn.put(schema.CLUSTER, _CLUSTER_ID_KEY, _ID.pack(self.cluster_id))
        for member in self._members.values():
            self._put(txn, member)

    @classmethod
    def load(cls, txn: ReadTxn, local_id: int) -> Membership | None:
        """The table stored in the backend, or None if it holds none yet."""
        raw_cluster = txn.get(schema.CLUSTER, _CLUSTER_ID_KEY)
        if raw_cluster is None:
            return None
        members = {
            _ID.unpack(key)[0]: Member.from_json(json.loads(value))
            for key, value in txn.range(schema.MEMBERS, b"")
        }
        table = cls(local_id, _ID.unpack(raw_cluster)[0], members)
        table._removed = {_ID.unpack(k)[0] for k, _ in txn.range(schema.MEMBERS_REMOVED, b"")}
        if (version := txn.get(schema.CLUSTER, _CLUSTER_VERSION_KEY)) is not None:
            table.cluster_version = bytes(version).decode()
        return table

    # --- the wire form peers exchange (PeerHandler.members / fetch_members) ------------

    def encode(self) -> bytes:
        return json.dumps(
            {
                "cluster_id": self.cluster_id,
                "members": [m.to_json() for m in self.members()],
                "removed": sorted(self._removed),
            }
        ).encode()

    @staticmethod
    def decode(data: bytes) -> tuple[int, list[Member]]:
        raw = json.loads(data)
        return raw["cluster_id"], [Member.from_json(m) for m in raw["members"]]

    @staticmethod
    def decode_removed(data: bytes) -> set[int]:
        """The ids ``encode``'s member list names as removed."""
        return set(json.loads(data).get("removed", []))
