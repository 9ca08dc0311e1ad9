"""etcd v3 API messages and services, generated from the .proto files beside them."""
