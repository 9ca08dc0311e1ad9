"""Raft consensus as a pure, deterministic state machine (after etcd-io/raft's RawNode).

No I/O, no clock, no threads: time enters through RawNode.tick(), input through
step()/propose(), and output leaves as a Ready that the driver persists, sends and
applies. See rawnode.py for the driver loop.
"""
