"""The transport seam: how a wire protocol plugin serves the node's API.

The server exposes etcd's API as *services*: a mapping from a protobuf service's full
name (``"etcdserverpb.KV"``) to a handler object. A handler method is the RPC's name in
snake_case (``Range`` -> ``range``, ``MemberList`` -> ``member_list``) and takes the
request message and a :class:`CallContext`:

* unary RPC:            ``async def range(self, request, ctx) -> RangeResponse``
* server-streaming RPC: ``def snapshot(self, request, ctx) -> AsyncIterator[Response]``
* bidirectional RPC:    ``def watch(self, requests: AsyncIterator, ctx) -> AsyncIterator``

A handler raises :class:`kvcore.errors.EtcdError` to fail a call with etcd's code and
message; the transport puts both on the wire unchanged. Messages are the generated
classes in ``kvcore.api``; nothing in the server holds a transport object, so any
transport (gRPC, the JSON gateway, ...) serves the same handlers. An RPC the node has
no handler for is answered as unimplemented.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pydantic

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.raft.messages import Message


class CallContext(Protocol):
    """What a handler may know about the caller, whatever the wire.

    ``metadata`` holds request metadata with lower-case keys (gRPC metadata, or HTTP
    headers mapped the same way: ``token``, ``hasleader``, ...). A transport may compute
    both lazily: most calls never look.

    A transport that verifies client certificates also gives ``common_name``: the
    verified certificate's common name, "" without one. Under client-cert auth a
    request without a token is made as that user (etcd ignores certificates on its
    HTTP gateway, so a transport without the attribute names nobody this way).
    """

    @property
    def metadata(self) -> Mapping[str, str]: ...

    @property
    def peer(self) -> str: ...


@dataclass(slots=True, frozen=True)
class StaticCallContext:
    """A CallContext with its values given up front."""

    metadata: Mapping[str, str] = field(default_factory=dict)
    peer: str = ""
    common_name: str = ""


Services = Mapping[str, object]

# etcd lets a client's message exceed --max-request-bytes by this much (its gRPC
# server's receive limit), so that an oversized request reaches the server and gets
# etcd's own "request is too large"; a larger one gets gRPC's "larger than max".
GRPC_OVERHEAD_BYTES = 512 * 1024


def handler_name(rpc: str) -> str:
    """``"MemberList"`` -> ``"member_list"``, ``"HashKV"`` -> ``"hash_kv"``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", rpc).lower()


@runtime_checkable
class Server(Protocol):
    """A running listener. Created by a :class:`Transport`, started and stopped by the node."""

    async def start(self) -> None:
        """Bind and begin serving. Raises ``OSError`` if the address is taken."""

    async def stop(self, grace: float) -> None:
        """Stop accepting calls; let calls in flight finish for ``grace`` seconds."""


@runtime_checkable
class Transport(Protocol):
    """What a transport plugin registers: a name, an options schema and a factory.

    ``options`` is the mapping under the listener's ``options`` in the node's YAML,
    validated against ``options_model`` before anything starts.

    A registered transport serves clients (this protocol), carries traffic between
    members (:class:`PeerTransport`), or both (grpc); a config that names one for a
    listener it cannot be is refused before anything starts, naming the field.
    """

    name: str
    options_model: type[pydantic.BaseModel]

    def client_server(
        self, address: str, services: Services, options: Any, max_request_bytes: int
    ) -> Server:
        """A listener on ``address`` (``host:port``) serving ``services`` to clients.

        Requests up to ``max_request_bytes`` must reach the handlers, so that the server
        can answer larger ones with etcd's "request is too large" error.
        """


# --- between members -----------------------------------------------------------------


@runtime_checkable
class PeerHandler(Protocol):
    """What a node gives its peer network: where raft traffic from peers goes.

    Called on the event loop. ``receive`` must not block; a message that cannot be
    taken is dropped (raft retransmits).
    """

    def receive(self, message: Message) -> None:
        """A raft message from a peer, decoded (a SNAP message with its whole data)."""

    def report_unreachable(self, peer_id: int) -> None:
        """Sending to ``peer_id`` failed; raft stops streaming to it and probes."""

    def report_snapshot(self, peer_id: int, ok: bool) -> None:
        """Whether a SNAP message to ``peer_id`` was delivered whole."""

    def members(self) -> bytes:
        """This member's view of the cluster, opaque to the transport, for a joining
        member's ``fetch_members`` (see :meth:`PeerTransport.fetch_members`)."""

    async def lease_renew(self, lease_id: int) -> int:
        """A peer's forwarded keep-alive: renew ``lease_id`` here, the leader, and return
        its TTL. Raises :class:`kvcore.errors.EtcdError` (``LEASE_NOT_FOUND``, or
        ``NOT_LEADER`` when this member does not lead), which the transport hands back
        to the caller of :meth:`PeerNetwork.lease_renew` with its code and message."""

    async def lease_time_to_live(
        self, request: pb.LeaseTimeToLiveRequest
    ) -> pb.LeaseTimeToLiveResponse:
        """A peer's forwarded TimeToLive, answered by this member, the leader (an
        unknown lease: TTL -1). Raises as :meth:`lease_renew`."""

    async def member_promote(self, request: pb.MemberPromoteRequest) -> pb.MemberPromoteResponse:
        """A peer's forwarded MemberPromote, made by this member, the leader, which alone
        knows whether the learner caught up. Raises as :meth:`lease_renew`."""


@runtime_checkable
class PeerNetwork(Protocol):
    """Carries raft messages between this member and its peers.

    ``send`` never blocks and never raises: a message for a peer that is down, slow or
    unknown is dropped and reported through ``PeerHandler.report_unreachable`` (for a
    SNAP message, ``report_snapshot(id, False)``); raft copes with loss. Messages to
    one peer are delivered in order while its connection lasts. A peer's connection is
    retried with back-off for as long as it is a peer.
    """

    async def start(self) -> None:
        """Listen for peers (raises ``OSError`` if the address is taken)."""

    async def stop(self, grace: float) -> None:
        """Close every connection and the listener."""

    def set_peers(self, peers: Mapping[int, list[str]]) -> None:
        """The peers to talk to: member id -> peer URLs (``http://host:port``).

        Called at start and after each membership change; ids not listed are dropped.
        """

    def send(self, messages: list[Message]) -> None:
        """Queue each message for its ``to`` peer."""

    def active_since(self, peer_id: int) -> float | None:
        """Since when (``time.monotonic()``) the connection carrying raft messages to
        ``peer_id`` has been up without a break; None while it is down, not yet up,
        or the peer is unknown. Membership changes are refused while too few peers
        have been connected for a while (etcd's "unhealthy cluster")."""

    async def lease_renew(self, peer_id: int, lease_id: int, timeout: float) -> int:
        """Have peer ``peer_id`` (the leader) renew a lease: its
        ``PeerHandler.lease_renew`` answer. Raises the :class:`kvcore.errors.EtcdError`
        the peer raised, or ``OSError`` when the peer is unknown or does not answer
        within ``timeout`` seconds. Unlike ``send``, a call, not a queued message."""

    async def lease_time_to_live(
        self, peer_id: int, request: pb.LeaseTimeToLiveRequest, timeout: float
    ) -> pb.LeaseTimeToLiveResponse:
        """Peer ``peer_id``'s ``PeerHandler.lease_time_to_live`` answer; raises as
        :meth:`lease_renew`."""

    async def member_promote(
        self, peer_id: int, request: pb.MemberPromoteRequest, timeout: float
    ) -> pb.MemberPromoteResponse:
        """Peer ``peer_id``'s ``PeerHandler.member_promote`` answer; raises as
        :meth:`lease_renew`."""


@runtime_checkable
class PeerTransport(Protocol):
    """A transport that carries traffic between members (it may also serve clients)."""

    name: str
    options_model: type[pydantic.BaseModel]

    def peer_network(
        self, address: str, local_id: int, cluster_id: int, handler: PeerHandler, options: Any
    ) -> PeerNetwork:
        """A peer network listening on ``address``; it refuses messages whose cluster
        id is not ``cluster_id`` (a member of another cluster)."""

    async def fetch_members(self, peer_urls: list[str], timeout: float, options: Any) -> bytes:
        """Ask the first of ``peer_urls`` that answers for its ``PeerHandler.members()``:
        how a member joining a running cluster learns the cluster before it starts.
        Raises ``OSError`` when none answers within ``timeout`` seconds."""
