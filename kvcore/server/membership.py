"""The cluster's members as clients see them (etcd's Member message)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kvcore.api.etcdserverpb import rpc_pb2 as pb


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


class Membership:
    def __init__(self, local: Member) -> None:
        self.local = local
        self._members = {local.id: local}

    def members(self) -> list[Member]:
        return sorted(self._members.values(), key=lambda m: m.id)
