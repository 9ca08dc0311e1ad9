"""Free TCP ports on the loopback interface, for servers the tests start.

They are taken below the kernel's ephemeral range: a port from that range can be
taken as the source port of any outgoing connection (a member redialling a stopped
peer, say) while the server that owns it is down for a restart, and the restart then
fails with "address already in use". No port is handed out twice in one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

HOST = "127.0.0.1"
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_SPAN = 12_000  # ports below the ephemeral range to draw from
_handed_out: set[int] = set()


def _candidates() -> range:
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default
    return range(max(1024, low - _SPAN), low)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free a moment ago."""
    candidates = _candidates()
    ports: list[int] = []
    for _ in range(len(candidates)):
        port = random.choice(candidates)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"no {count} free ports left in {candidates}")


def free_port() -> int:
    return free_ports(1)[0]
