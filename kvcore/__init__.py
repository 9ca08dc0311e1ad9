"""kvcore: an etcd-compatible, consistent key-value store with pluggable engines."""

__version__ = "0.1.0"
# The etcd API version kvcore speaks; clients gate features on it (Status.version).
ETCD_API_VERSION = "3.5.0"
