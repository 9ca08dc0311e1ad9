"""kvcore: an etcd-compatible, consistent key-value store with pluggable engines."""

__version__ = "0.1.0"
# The etcd API version kvcore speaks; clients gate features on it (Status.version).
ETCD_API_VERSION = "3.5.0"
# What a leader records as the cluster's version (etcd keeps major.minor, patch 0).
CLUSTER_VERSION = ".".join(ETCD_API_VERSION.split(".")[:2]) + ".0"
