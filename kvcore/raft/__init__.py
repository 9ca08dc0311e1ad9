"""Raft consensus as a pure, deterministic state machine (after etcd-io/raft's RawNode).

No I/O, no clock, no threads: time enters through RawNode.tick(), input through
step()/propose(), and output leaves as a Ready that the driver persists, sends and
applies. See rawnode.py for the driver loop.

Modules, one concern each:
  rawnode     RawNode, Ready: the public surface         config     Config
  raft        term/vote/role transitions, common step    leader     leader step, replication
  candidate   (pre-)candidate step                       follower   follower step, append/snapshot
  log         RaftLog over Storage + unstable            unstable   entries not yet persisted
  storage     Storage protocol, MemoryStorage, errors    bootstrap  founding a new cluster
  tracker     configuration, progress, votes             progress   per-follower flow control
  inflights   in-flight append bound                     quorum     majority arithmetic
  confchange  one-at-a-time membership changes           readonly   ReadIndex bookkeeping
  messages    Message, MessageType                       codec      binary encodings
  status      Role, SoftState, Status                    types      Entry, HardState, ...
"""
