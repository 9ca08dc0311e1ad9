"""etcd's gRPC services as transport-independent handler objects (see kvcore.transport)."""

from __future__ import annotations

from kvcore.server.etcdserver import EtcdServer
from kvcore.server.membership import Membership
from kvcore.server.services.cluster import ClusterService
from kvcore.server.services.kv import KVService
from kvcore.server.services.maintenance import MaintenanceService
from kvcore.transport import Services


def build(server: EtcdServer, membership: Membership) -> Services:
    """Every service this node serves, by protobuf service name."""
    return {
        "etcdserverpb.KV": KVService(server),
        "etcdserverpb.Cluster": ClusterService(server, membership),
        "etcdserverpb.Maintenance": MaintenanceService(server, membership),
    }
