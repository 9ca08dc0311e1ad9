"""TLS for the gRPC listeners and the channels between members, from a listener's
``options.tls`` (etcd's --cert-file, --key-file, --trusted-ca-file, --client-cert-auth
and their --peer-* twins)."""

from __future__ import annotations

from pathlib import Path

import grpc
from pydantic import BaseModel, ConfigDict, model_validator


class TlsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: Path
    key_file: Path
    # The CA that signs the certificates of clients (or peers), and of the peers this
    # member connects to.
    ca_file: Path | None = None
    # Refuse a connection without a certificate signed by ca_file. On the client
    # listener, a request with no token is then made as the user the certificate's
    # common name names.
    client_cert_auth: bool = False

    @model_validator(mode="after")
    def _ca_for_client_certs(self) -> TlsOptions:
        if self.client_cert_auth and self.ca_file is None:
            raise ValueError("client_cert_auth needs ca_file to check certificates with")
        return self


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
