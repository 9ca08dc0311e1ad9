"""Every RPC of etcd's API maps to one distinct handler method name."""

from __future__ import annotations

from kvcore.api.etcdserverpb import rpc_pb2
from kvcore.api.v3electionpb import v3election_pb2
from kvcore.api.v3lockpb import v3lock_pb2
from kvcore.transport import handler_name


def test_handler_names() -> None:
    assert handler_name("Range") == "range"
    assert handler_name("DeleteRange") == "delete_range"
    assert handler_name("HashKV") == "hash_kv"
    assert handler_name("LeaseTimeToLive") == "lease_time_to_live"
    assert handler_name("MemberList") == "member_list"


def test_names_are_unique_within_each_service() -> None:
    for file in (rpc_pb2.DESCRIPTOR, v3lock_pb2.DESCRIPTOR, v3election_pb2.DESCRIPTOR):
        for service in file.services_by_name.values():
            names = [handler_name(m.name) for m in service.methods]
            assert len(names) == len(set(names)), service.full_name
            assert all(n.isidentifier() and n == n.lower() for n in names)
