"""The auth buckets' layout, as etcd keeps it: ``authpb.User`` and ``authpb.Role`` keyed
by name, and in the auth bucket the enabled flag and the auth revision."""

from __future__ import annotations

import struct

from kvcore import schema
from kvcore.api.authpb.auth_pb2 import Role, User
from kvcore.backend import ReadTxn, WriteTxn

ENABLED_KEY = b"authEnabled"
REVISION_KEY = b"authRevision"
_ENABLED = b"\x01"
_DISABLED = b"\x00"
_U64 = struct.Struct(">Q")
# etcd writes revision 1 when it creates the auth store; a backend without the key is
# read as that revision, so every member starts from the same value with no write.
INITIAL_REVISION = 1


def is_enabled(txn: ReadTxn) -> bool:
    return txn.get(schema.AUTH, ENABLED_KEY) == _ENABLED


def set_enabled(txn: WriteTxn, enabled: bool) -> None:
    txn.put(schema.AUTH, ENABLED_KEY, _ENABLED if enabled else _DISABLED)


def revision(txn: ReadTxn) -> int:
    raw = txn.get(schema.AUTH, REVISION_KEY)
    return _U64.unpack(raw)[0] if raw else INITIAL_REVISION


def bump_revision(txn: WriteTxn) -> int:
    """Advance the auth revision (every change to users or roles does) and return it."""
    rev = revision(txn) + 1
    txn.put(schema.AUTH, REVISION_KEY, _U64.pack(rev))
    return rev


def get_user(txn: ReadTxn, name: str) -> User | None:
    raw = txn.get(schema.AUTH_USERS, name.encode())
    return User.FromString(raw) if raw is not None else None


def put_user(txn: WriteTxn, user: User) -> None:
    txn.put(schema.AUTH_USERS, user.name, user.SerializeToString())


def delete_user(txn: WriteTxn, name: str) -> None:
    txn.delete(schema.AUTH_USERS, name.encode())


def all_users(txn: ReadTxn) -> list[User]:
    """Every user, in name order."""
    return [User.FromString(raw) for _, raw in txn.range(schema.AUTH_USERS, b"")]


def get_role(txn: ReadTxn, name: str) -> Role | None:
    raw = txn.get(schema.AUTH_ROLES, name.encode())
    return Role.FromString(raw) if raw is not None else None


def put_role(txn: WriteTxn, role: Role) -> None:
    txn.put(schema.AUTH_ROLES, role.name, role.SerializeToString())


def delete_role(txn: WriteTxn, name: str) -> None:
    txn.delete(schema.AUTH_ROLES, name.encode())


def all_roles(txn: ReadTxn) -> list[Role]:
    """Every role, in name order."""
    return [Role.FromString(raw) for _, raw in txn.range(schema.AUTH_ROLES, b"")]
