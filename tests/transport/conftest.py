"""Each peer transport test runs once per peer transport (see peers.py)."""

from __future__ import annotations

import pytest

from kvcore.transport import PeerTransport

from .peers import PEER_TRANSPORTS


@pytest.fixture(params=sorted(PEER_TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> PeerTransport:
    return PEER_TRANSPORTS[request.param]
