"""Users, roles and range permissions (etcd's auth store), kept in the backend's auth
buckets and changed only by applying raft entries; tokens that name a caller."""
