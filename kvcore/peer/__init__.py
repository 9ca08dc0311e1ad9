"""What every peer transport plugin shares, whatever its wire: peer URLs, reconnect
back-off, SNAP messages cut into chunks, and the log of a peer's reachability.

The contract itself (PeerNetwork, PeerHandler, PeerTransport) is ``kvcore.transport``.
"""
