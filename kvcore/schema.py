"""Every bucket and meta key the core stores, declared in one place (etcd's schema/bucket.go).

Engines receive :data:`ALL_BUCKETS` when a backend is opened; code that reads or writes a
bucket names it through these constants, never through a string literal of its own.
"""

from __future__ import annotations

from typing import Final

KEY: Final = "key"
"""MVCC history: revision bytes (see ``kvcore.mvcc.revision``) -> serialized mvccpb.KeyValue."""
META: Final = "meta"
"""Small bookkeeping values: the keys below."""
LEASE: Final = "lease"
ALARM: Final = "alarm"
CLUSTER: Final = "cluster"
MEMBERS: Final = "members"
MEMBERS_REMOVED: Final = "members_removed"
AUTH: Final = "auth"
AUTH_USERS: Final = "authUsers"
AUTH_ROLES: Final = "authRoles"

ALL_BUCKETS: Final[tuple[str, ...]] = (
    KEY,
    META,
    LEASE,
    ALARM,
    CLUSTER,
    MEMBERS,
    MEMBERS_REMOVED,
    AUTH,
    AUTH_USERS,
    AUTH_ROLES,
)

# Keys of the meta bucket.
META_CONSISTENT_INDEX: Final = b"consistent_index"
"""The raft index of the last applied entry, 8 bytes big-endian; written in the same
backend transaction as the entry's effects so that WAL replay is idempotent."""
META_TERM: Final = b"term"
"""The raft term of that entry, 8 bytes big-endian."""
META_SCHEDULED_COMPACT_REV: Final = b"scheduledCompactRev"
"""The revision of the last compaction requested, as 17 revision bytes (main, sub 0)."""
META_FINISHED_COMPACT_REV: Final = b"finishedCompactRev"
"""The revision of the last compaction completed, as 17 revision bytes (main, sub 0).
A scheduled revision above the finished one means a compaction was cut short; the store
finishes it when it opens."""
