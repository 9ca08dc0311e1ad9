"""Test harness for whole-node tests: real etcd and kvcore processes, and clients for them.

Modules, one job each:
  ports      free loopback ports
  process    a supervised subprocess: start, wait until ready, stop, kill -9
  servers    etcd and kvcore nodes built on process, with a common Server shape
  etcdctl    etcdctl v3 as a function returning stdout, stderr and exit code
  rawclient  etcd's v3 gRPC API through kvcore's generated stubs, errors as values
  requests   short builders for etcd's request messages
  normalize  responses and etcdctl output with member-specific ids taken out
"""
