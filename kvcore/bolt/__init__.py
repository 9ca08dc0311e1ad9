"""bbolt's file format, the one etcd's backend and ``etcdctl snapshot`` use.

kvcore's snapshots (``Maintenance.Snapshot``) are bbolt files holding etcd's buckets,
so ``etcdctl snapshot status`` reads them and ``etcdctl snapshot restore`` turns one
into a data dir for etcd; ``kvcore snapshot restore`` reads etcd's snapshots too.

``writer`` bulk-loads a file from sorted buckets; ``reader`` walks one back.
"""
