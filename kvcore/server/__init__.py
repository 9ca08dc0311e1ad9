"""The logic layer: apply committed requests, serve reads, expose etcd's services."""
