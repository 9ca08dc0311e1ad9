"""etcd's client-facing errors: a gRPC status code and an exact message.

The core raises :class:`EtcdError`; a transport turns it into its wire form (a gRPC
status, or the gateway's JSON error body). Messages are etcd's, byte for byte, because
clients match on them (clientv3 maps them back to typed errors).
"""

from __future__ import annotations

import enum


class Code(enum.IntEnum):
    """gRPC status codes (numbering from grpc's status.proto)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class EtcdError(Exception):
    """An error a client sees: ``code`` and ``message`` go on the wire unchanged."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, EtcdError)
            and other.code == self.code
            and other.message == self.message
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message))

    def __repr__(self) -> str:
        return f"EtcdError({self.code.name}, {self.message!r})"


def message_too_large(size: int, limit: int) -> EtcdError:
    """A request message over the server's receive limit, in grpc-go's words."""
    return EtcdError(
        Code.RESOURCE_EXHAUSTED, f"grpc: received message larger than max ({size} vs. {limit})"
    )


def _e(code: Code, message: str) -> EtcdError:
    return EtcdError(code, message)


_INVALID = Code.INVALID_ARGUMENT
_PRECOND = Code.FAILED_PRECONDITION
_UNAVAILABLE = Code.UNAVAILABLE

# KV
EMPTY_KEY = _e(_INVALID, "etcdserver: key is not provided")
KEY_NOT_FOUND = _e(_INVALID, "etcdserver: key not found")
VALUE_PROVIDED = _e(_INVALID, "etcdserver: value is provided")
LEASE_PROVIDED = _e(_INVALID, "etcdserver: lease is provided")
TOO_MANY_OPS = _e(_INVALID, "etcdserver: too many operations in txn request")
DUPLICATE_KEY = _e(_INVALID, "etcdserver: duplicate key given in txn request")
COMPACTED = _e(Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted")
FUTURE_REV = _e(Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision")
# etcd 3.6 rejects a sort target outside the enum with this; 3.4 and 3.5 crash on one.
INVALID_SORT_OPTION = _e(_INVALID, "etcdserver: invalid sort option")
NO_SPACE = _e(Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded")

# Leases
LEASE_NOT_FOUND = _e(Code.NOT_FOUND, "etcdserver: requested lease not found")
LEASE_EXIST = _e(_PRECOND, "etcdserver: lease already exists")
LEASE_TTL_TOO_LARGE = _e(Code.OUT_OF_RANGE, "etcdserver: too large lease TTL")

WATCH_CANCELED = _e(Code.CANCELLED, "etcdserver: watch canceled")

# Membership
MEMBER_EXIST = _e(_PRECOND, "etcdserver: member ID already exist")
PEER_URL_EXIST = _e(_PRECOND, "etcdserver: Peer URLs already exists")
# etcd maps this one to a client-side error value, which grpc-go sends as Unknown.
MEMBER_NOT_ENOUGH_STARTED = _e(
    Code.UNKNOWN, "etcdserver: re-configuration failed due to not enough started members"
)
MEMBER_BAD_URLS = _e(_INVALID, "etcdserver: given member URLs are invalid")
MEMBER_NOT_FOUND = _e(Code.NOT_FOUND, "etcdserver: member not found")
MEMBER_NOT_LEARNER = _e(_PRECOND, "etcdserver: can only promote a learner member")
LEARNER_NOT_READY = _e(
    _PRECOND, "etcdserver: can only promote a learner member which is in sync with leader"
)
TOO_MANY_LEARNERS = _e(_PRECOND, "etcdserver: too many learner members in cluster")

# Limits
REQUEST_TOO_LARGE = _e(_INVALID, "etcdserver: request is too large")
TOO_MANY_REQUESTS = _e(Code.RESOURCE_EXHAUSTED, "etcdserver: too many requests")

# Auth
ROOT_USER_NOT_EXIST = _e(_PRECOND, "etcdserver: root user does not exist")
ROOT_ROLE_NOT_EXIST = _e(_PRECOND, "etcdserver: root user does not have root role")
USER_ALREADY_EXIST = _e(_PRECOND, "etcdserver: user name already exists")
USER_EMPTY = _e(_INVALID, "etcdserver: user name is empty")
USER_NOT_FOUND = _e(_PRECOND, "etcdserver: user name not found")
ROLE_ALREADY_EXIST = _e(_PRECOND, "etcdserver: role name already exists")
ROLE_NOT_FOUND = _e(_PRECOND, "etcdserver: role name not found")
ROLE_EMPTY = _e(_INVALID, "etcdserver: role name is empty")
AUTH_FAILED = _e(_INVALID, "etcdserver: authentication failed, invalid user ID or password")
PERMISSION_NOT_GIVEN = _e(_INVALID, "etcdserver: permission not given")
PERMISSION_DENIED = _e(Code.PERMISSION_DENIED, "etcdserver: permission denied")
ROLE_NOT_GRANTED = _e(_PRECOND, "etcdserver: role is not granted to the user")
PERMISSION_NOT_GRANTED = _e(_PRECOND, "etcdserver: permission is not granted to the role")
AUTH_NOT_ENABLED = _e(_PRECOND, "etcdserver: authentication is not enabled")
INVALID_AUTH_TOKEN = _e(Code.UNAUTHENTICATED, "etcdserver: invalid auth token")
INVALID_AUTH_MGMT = _e(_INVALID, "etcdserver: invalid auth management")
AUTH_OLD_REVISION = _e(_INVALID, "etcdserver: revision of auth store is old")
# etcd has no gRPC error for this one: it reaches clients as its internal error, unknown.
NO_PASSWORD_USER = _e(
    Code.UNKNOWN, "auth: authentication failed, password was given for no password user"
)

# Cluster health
NO_LEADER = _e(_UNAVAILABLE, "etcdserver: no leader")
NOT_LEADER = _e(_PRECOND, "etcdserver: not leader")
LEADER_CHANGED = _e(_UNAVAILABLE, "etcdserver: leader changed")
NOT_CAPABLE = _e(_UNAVAILABLE, "etcdserver: not capable")
STOPPED = _e(_UNAVAILABLE, "etcdserver: server stopped")
TIMEOUT = _e(_UNAVAILABLE, "etcdserver: request timed out")
TIMEOUT_DUE_TO_LEADER_FAIL = _e(
    _UNAVAILABLE, "etcdserver: request timed out, possibly due to previous leader failure"
)
TIMEOUT_DUE_TO_CONNECTION_LOST = _e(
    _UNAVAILABLE, "etcdserver: request timed out, possibly due to connection lost"
)
TIMEOUT_WAIT_APPLIED_INDEX = _e(
    _UNAVAILABLE, "etcdserver: request timed out, waiting for the applied index took too long"
)
TIMEOUT_LEADER_TRANSFER = _e(
    _UNAVAILABLE, "etcdserver: request timed out, leader transfer took too long"
)
UNHEALTHY = _e(_UNAVAILABLE, "etcdserver: unhealthy cluster")
CORRUPT = _e(Code.DATA_LOSS, "etcdserver: corrupt cluster")
NOT_SUPPORTED_FOR_LEARNER = _e(_UNAVAILABLE, "etcdserver: rpc not supported for learner")
BAD_LEADER_TRANSFEREE = _e(_PRECOND, "etcdserver: bad leader transferee")

CANCELED = _e(Code.CANCELLED, "etcdserver: request canceled")
DEADLINE_EXCEEDED = _e(Code.DEADLINE_EXCEEDED, "etcdserver: context deadline exceeded")
# A proposal that found no leader within the request timeout: Go's context error, which
# etcd passes on unconverted.
NO_LEADER_DEADLINE = _e(Code.UNKNOWN, "context deadline exceeded")
