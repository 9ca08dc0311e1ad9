"""gRPC credentials for the listeners and the channels between members, from a
listener's ``options.tls`` (the schema, :class:`kvcore.tls.TlsOptions`, is the core's)."""

from __future__ import annotations

import grpc

from kvcore.tls import TlsOptions


def server_credentials(tls: TlsOptions) -> grpc.ServerCredentials:
    """Raises OSError if a file cannot be read."""
    return grpc.ssl_server_credentials(
        [(tls.key_file.read_bytes(), tls.cert_file.read_bytes())],
        root_certificates=tls.ca_file.read_bytes() if tls.ca_file else None,
        require_client_auth=tls.client_cert_auth,
    )


def channel_credentials(tls: TlsOptions) -> grpc.ChannelCredentials:
    """For connecting to peers: their certificates are checked against ca_file (the
    system's CAs without one), and this member presents its own."""
    return grpc.ssl_channel_credentials(
        root_certificates=tls.ca_file.read_bytes() if tls.ca_file else None,
        private_key=tls.key_file.read_bytes(),
        certificate_chain=tls.cert_file.read_bytes(),
    )
