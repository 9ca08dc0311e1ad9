"""Load generator comparing kvcore with real etcd and a bare Python gRPC server."""
