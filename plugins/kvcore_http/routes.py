"""etcd's gateway routes, bound to kvcore's handlers through the protobuf descriptors.

:data:`ROUTES` is the ``google.api.http`` annotations of etcd's rpc.proto, v3lock.proto
and v3election.proto (kvcore's copies of the protos leave the annotations out). Each
route names an RPC; its request and response classes and its streaming kind come from
the descriptors, and its handler from the node's services when the listener starts, so
a service the node implements later is served here with no change. An RPC the node has
no handler for is answered as unimplemented, with grpc-go's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf import descriptor, descriptor_pool, message_factory
from google.protobuf.message import Message

# Imported for their descriptors: the default pool then knows every service.
from kvcore import metrics
from kvcore.api.etcdserverpb import rpc_pb2  # noqa: F401
from kvcore.api.v3electionpb import v3election_pb2  # noqa: F401
from kvcore.api.v3lockpb import v3lock_pb2  # noqa: F401
from kvcore.errors import Code, EtcdError
from kvcore.transport import Services, handler_name

_KV = "etcdserverpb.KV"
_WATCH = "etcdserverpb.Watch"
_LEASE = "etcdserverpb.Lease"
_CLUSTER = "etcdserverpb.Cluster"
_MAINTENANCE = "etcdserverpb.Maintenance"
_AUTH = "etcdserverpb.Auth"
_LOCK = "v3lockpb.Lock"
_ELECTION = "v3electionpb.Election"

# path -> (service, RPC). HashKV shares /v3/maintenance/hash with Hash in the protos;
# etcd's gateway serves Hash there, and so does kvcore.
ROUTES: dict[str, tuple[str, str]] = {
    "/v3/kv/range": (_KV, "Range"),
    "/v3/kv/put": (_KV, "Put"),
    "/v3/kv/deleterange": (_KV, "DeleteRange"),
    "/v3/kv/txn": (_KV, "Txn"),
    "/v3/kv/compaction": (_KV, "Compact"),
    "/v3/watch": (_WATCH, "Watch"),
    "/v3/lease/grant": (_LEASE, "LeaseGrant"),
    "/v3/lease/revoke": (_LEASE, "LeaseRevoke"),
    "/v3/kv/lease/revoke": (_LEASE, "LeaseRevoke"),
    "/v3/lease/keepalive": (_LEASE, "LeaseKeepAlive"),
    "/v3/lease/timetolive": (_LEASE, "LeaseTimeToLive"),
    "/v3/kv/lease/timetolive": (_LEASE, "LeaseTimeToLive"),
    "/v3/lease/leases": (_LEASE, "LeaseLeases"),
    "/v3/kv/lease/leases": (_LEASE, "LeaseLeases"),
    "/v3/cluster/member/add": (_CLUSTER, "MemberAdd"),
    "/v3/cluster/member/remove": (_CLUSTER, "MemberRemove"),
    "/v3/cluster/member/update": (_CLUSTER, "MemberUpdate"),
    "/v3/cluster/member/list": (_CLUSTER, "MemberList"),
    "/v3/cluster/member/promote": (_CLUSTER, "MemberPromote"),
    "/v3/maintenance/alarm": (_MAINTENANCE, "Alarm"),
    "/v3/maintenance/status": (_MAINTENANCE, "Status"),
    "/v3/maintenance/defragment": (_MAINTENANCE, "Defragment"),
    "/v3/maintenance/hash": (_MAINTENANCE, "Hash"),
    "/v3/maintenance/snapshot": (_MAINTENANCE, "Snapshot"),
    "/v3/maintenance/transfer-leadership": (_MAINTENANCE, "MoveLeader"),
    "/v3/maintenance/downgrade": (_MAINTENANCE, "Downgrade"),
    "/v3/auth/enable": (_AUTH, "AuthEnable"),
    "/v3/auth/disable": (_AUTH, "AuthDisable"),
    "/v3/auth/status": (_AUTH, "AuthStatus"),
    "/v3/auth/authenticate": (_AUTH, "Authenticate"),
    "/v3/auth/user/add": (_AUTH, "UserAdd"),
    "/v3/auth/user/get": (_AUTH, "UserGet"),
    "/v3/auth/user/list": (_AUTH, "UserList"),
    "/v3/auth/user/delete": (_AUTH, "UserDelete"),
    "/v3/auth/user/changepw": (_AUTH, "UserChangePassword"),
    "/v3/auth/user/grant": (_AUTH, "UserGrantRole"),
    "/v3/auth/user/revoke": (_AUTH, "UserRevokeRole"),
    "/v3/auth/role/add": (_AUTH, "RoleAdd"),
    "/v3/auth/role/get": (_AUTH, "RoleGet"),
    "/v3/auth/role/list": (_AUTH, "RoleList"),
    "/v3/auth/role/delete": (_AUTH, "RoleDelete"),
    "/v3/auth/role/grant": (_AUTH, "RoleGrantPermission"),
    "/v3/auth/role/revoke": (_AUTH, "RoleRevokePermission"),
    "/v3/lock/lock": (_LOCK, "Lock"),
    "/v3/lock/unlock": (_LOCK, "Unlock"),
    "/v3/election/campaign": (_ELECTION, "Campaign"),
    "/v3/election/proclaim": (_ELECTION, "Proclaim"),
    "/v3/election/leader": (_ELECTION, "Leader"),
    "/v3/election/observe": (_ELECTION, "Observe"),
    "/v3/election/resign": (_ELECTION, "Resign"),
}


@dataclass(slots=True, frozen=True)
class Route:
    """One RPC as served on one path."""

    path: str
    service: str
    method: str
    request_cls: type[Message]
    client_streaming: bool
    server_streaming: bool
    handler: Callable | None
    unimplemented: EtcdError | None  # the answer when the node has no handler
    counts: metrics.RpcCounts


def bind(services: Services) -> list[Route]:
    """Every route, with the node's handler for its RPC where there is one."""
    pool = descriptor_pool.Default()
    routes = []
    for path, (service_name, method_name) in ROUTES.items():
        service = pool.FindServiceByName(service_name)
        method: descriptor.MethodDescriptor = service.methods_by_name[method_name]
        impl = services.get(service_name)
        handler = None if impl is None else getattr(impl, handler_name(method_name), None)
        unimplemented = None
        if impl is None:
            unimplemented = EtcdError(Code.UNIMPLEMENTED, f"unknown service {service_name}")
        elif handler is None:
            unimplemented = EtcdError(
                Code.UNIMPLEMENTED, f"unknown method {method_name} for service {service_name}"
            )
        kind = metrics.rpc_type(method.client_streaming, method.server_streaming)
        routes.append(
            Route(
                path=path,
                service=service_name,
                method=method_name,
                request_cls=message_factory.GetMessageClass(method.input_type),
                client_streaming=method.client_streaming,
                server_streaming=method.server_streaming,
                handler=handler,
                unimplemented=unimplemented,
                counts=metrics.rpc_counts(service_name, method_name, kind),
            )
        )
    return routes
