from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PeerMessage(_message.Message):
    __slots__ = ("cluster_id", "messages")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    messages: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, cluster_id: _Optional[int] = ..., messages: _Optional[_Iterable[bytes]] = ..., **kwargs) -> None: ...

class StreamAck(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SnapshotChunk(_message.Message):
    __slots__ = ("cluster_id", "message", "total_size", "data")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    message: bytes
    total_size: int
    data: bytes
    def __init__(self, cluster_id: _Optional[int] = ..., message: _Optional[bytes] = ..., total_size: _Optional[int] = ..., data: _Optional[bytes] = ..., **kwargs) -> None: ...

class SnapshotAck(_message.Message):
    __slots__ = ("ok",)
    OK_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    def __init__(self, ok: _Optional[bool] = ...) -> None: ...

class MembersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MembersResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: bytes
    def __init__(self, members: _Optional[bytes] = ...) -> None: ...

class LeaseRenewRequest(_message.Message):
    __slots__ = ("id", "cluster_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    id: int
    cluster_id: int
    def __init__(self, id: _Optional[int] = ..., cluster_id: _Optional[int] = ..., **kwargs) -> None: ...

class LeaseRenewResponse(_message.Message):
    __slots__ = ("ttl",)
    TTL_FIELD_NUMBER: _ClassVar[int]
    ttl: int
    def __init__(self, ttl: _Optional[int] = ...) -> None: ...

class LeaseTimeToLiveForward(_message.Message):
    __slots__ = ("request", "cluster_id")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    request: bytes
    cluster_id: int
    def __init__(self, request: _Optional[bytes] = ..., cluster_id: _Optional[int] = ..., **kwargs) -> None: ...

class LeaseTimeToLiveAnswer(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: bytes
    def __init__(self, response: _Optional[bytes] = ...) -> None: ...

class MemberPromoteForward(_message.Message):
    __slots__ = ("request", "cluster_id")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    request: bytes
    cluster_id: int
    def __init__(self, request: _Optional[bytes] = ..., cluster_id: _Optional[int] = ..., **kwargs) -> None: ...

class MemberPromoteAnswer(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: bytes
    def __init__(self, response: _Optional[bytes] = ...) -> None: ...
