"""Peer URLs (``http://host:port``, as etcd writes them) and the addresses they name."""

from __future__ import annotations

from urllib.parse import urlsplit


def peer_target(url: str) -> str:
    """``http://host:port`` -> ``host:port``. https is taken too, as etcd writes the URLs
    of TLS peers; the peer listener's TLS options, not the scheme, decide whether a
    connection uses TLS. Raises ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.port is None:
        raise ValueError(f"peer URL {url!r} is not http(s)://host:port")
    return parts.netloc


def split_host_port(address: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) -> ``(host, port)``; ValueError if it is not one."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    return host.removeprefix("[").removesuffix("]"), int(port)
