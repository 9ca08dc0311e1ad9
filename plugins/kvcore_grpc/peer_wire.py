"""What both ends of a peer connection agree on: addresses, limits and gRPC options."""

from __future__ import annotations

import grpc

# Raft caps an APP message near 1 MiB (max_size_per_msg) but a batch of them, or one
# large entry, can be bigger; snapshot chunks are ~1 MiB. Well above both.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

# Initial metadata a receiver sends once it has accepted a Stream (cluster id checked).
ACCEPTED_KEY = "kvcore-peer-accepted"

# Keepalive pings find a dead peer (no RST: power loss, partition) within ~5 s.
_KEEPALIVE = [
    ("grpc.keepalive_time_ms", 2000),
    ("grpc.keepalive_timeout_ms", 3000),
    ("grpc.keepalive_permit_without_calls", 1),
]
_LIMITS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]

CHANNEL_OPTIONS = [
    *_KEEPALIVE,
    *_LIMITS,
    ("grpc.http2.max_pings_without_data", 0),
    # The channel redials on the same short schedule as the sender's back-off, so a
    # peer that comes back is reached within about a second (gRPC's default: 2 min).
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # A failed stream is the sender's to handle: it reports and reconnects.
    ("grpc.enable_retries", 0),
]

SERVER_OPTIONS = [
    *_KEEPALIVE,
    *_LIMITS,
    # Accept the clients' keepalive pings instead of answering them with GOAWAY.
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 1000),
    ("grpc.http2.max_ping_strikes", 0),
    # Without this a second member on the same port would bind and steal traffic.
    ("grpc.so_reuseport", 0),
]


def open_channel(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    """A channel to a peer, over TLS given ``credentials``."""
    if credentials is None:
        return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
    return grpc.aio.secure_channel(address, credentials, options=CHANNEL_OPTIONS)
