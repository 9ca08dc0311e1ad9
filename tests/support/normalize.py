"""Take out what differs between two correct members: cluster and member ids, raft terms.

Revisions stay: two fresh stores given the same requests must agree on them.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import text_format
from google.protobuf.message import Message

from kvcore.api.etcdserverpb import rpc_pb2

from .rawclient import Outcome, RpcFailure

ID_FIELDS = ("cluster_id", "member_id", "raft_term")
ID_PLACEHOLDER = "<id>"


def without_ids(message: Message) -> Message:
    """A copy of ``message`` whose every ResponseHeader, however deep, has no ids."""
    copy = type(message)()
    copy.CopyFrom(message)
    _clear_ids(copy)
    return copy


def _clear_ids(message: Message) -> None:
    if isinstance(message, rpc_pb2.ResponseHeader):
        for name in ID_FIELDS:
            message.ClearField(name)
        return
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.is_repeated:
            if field.message_type.GetOptions().map_entry:
                continue
            for item in value:
                _clear_ids(item)
        else:
            _clear_ids(value)


def render(outcome: Outcome) -> str:
    """One readable, comparable text for a response (ids out) or an error."""
    if isinstance(outcome, RpcFailure):
        return str(outcome)
    body = text_format.MessageToString(without_ids(outcome), as_utf8=True)
    return f"{type(outcome).__name__} {{\n{body}}}"


def json_without_ids(data: Any) -> Any:
    """etcdctl ``-w json`` output with header ids replaced by a placeholder."""
    if isinstance(data, dict):
        return {
            key: ID_PLACEHOLDER if key in ID_FIELDS else json_without_ids(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [json_without_ids(item) for item in data]
    return data
