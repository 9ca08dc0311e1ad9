"""Leases: TTLs whose expiry deletes the keys attached to them (etcd's lease package)."""
