"""etcd's gRPC services as transport-independent handler objects (see kvcore.transport)."""

from __future__ import annotations

from typing import Any

from kvcore import errors
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.services.auth import AuthService
from kvcore.server.services.auth_guard import AuthGuard
from kvcore.server.services.cluster import ClusterService
from kvcore.server.services.election import ElectionService
from kvcore.server.services.kv import KVService
from kvcore.server.services.lease import LeaseService
from kvcore.server.services.lock import LockService
from kvcore.server.services.maintenance import MaintenanceService
from kvcore.server.services.watch import WatchService
from kvcore.transport import CallContext, Services

# The metadata key and value with which a client asks to be failed rather than served
# while the member knows no leader (clientv3's WithRequireLeader).
REQUIRE_LEADER_KEY = "hasleader"
REQUIRE_LEADER_VALUE = "true"


def build(server: EtcdServer) -> Services:
    """Every service this node serves, by protobuf service name."""
    return {
        name: _RequireLeader(server, AuthGuard(server, name, impl))
        for name, impl in {
            "etcdserverpb.KV": KVService(server),
            "etcdserverpb.Auth": AuthService(server),
            "etcdserverpb.Cluster": ClusterService(server),
            "etcdserverpb.Lease": LeaseService(server),
            "etcdserverpb.Maintenance": MaintenanceService(server),
            "etcdserverpb.Watch": WatchService(server),
            "v3electionpb.Election": ElectionService(server),
            "v3lockpb.Lock": LockService(server),
        }.items()
    }


class _RequireLeader:
    """Fails every call that carries ``hasleader: true`` while no leader is known, with
    etcd's "no leader", before the handler runs (etcd does it in an interceptor)."""

    def __init__(self, server: EtcdServer, impl: object) -> None:
        self._server = server
        self._impl = impl

    def __getattr__(self, name: str) -> Any:
        handler = getattr(self._impl, name)
        server = self._server

        def guarded(request: Any, ctx: CallContext) -> Any:
            required = ctx.metadata.get(REQUIRE_LEADER_KEY) == REQUIRE_LEADER_VALUE
            if required and not server.leader_id:
                raise errors.NO_LEADER
            return handler(request, ctx)

        return guarded
