"""TLS settings of a listener, shared by every transport plugin: a listener's
``options.tls`` (etcd's --cert-file, --key-file, --trusted-ca-file, --client-cert-auth
and their --peer-* twins), and the ``ssl`` contexts for transports built on asyncio.

The schema lives in the core so that plugins share it without importing each other; a
plugin that is not built on ``ssl`` (gRPC) turns it into its own credentials.
"""

from __future__ import annotations

import ssl

from pydantic import BaseModel, ConfigDict, FilePath, model_validator


class TlsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: FilePath
    key_file: FilePath
    # The CA that signs the certificates of clients (or peers), and of the peers this
    # member connects to.
    ca_file: FilePath | None = None
    # Refuse a connection without a certificate signed by ca_file. On the client
    # listener, a request with no token is then made as the user the certificate's
    # common name names.
    client_cert_auth: bool = False

    @model_validator(mode="after")
    def _ca_for_client_certs(self) -> TlsOptions:
        if self.client_cert_auth and self.ca_file is None:
            raise ValueError("client_cert_auth needs ca_file to check certificates with")
        return self


def server_context(tls: TlsOptions) -> ssl.SSLContext:
    """For a listener: presents cert_file; with client_cert_auth, requires a client
    certificate signed by ca_file. Raises OSError (ssl.SSLError is one) if a file cannot
    be read or used."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.ca_file is not None:
        context.load_verify_locations(cafile=tls.ca_file)
    context.verify_mode = ssl.CERT_REQUIRED if tls.client_cert_auth else ssl.CERT_NONE
    return context


def client_context(tls: TlsOptions) -> ssl.SSLContext:
    """For connecting to peers: their certificates are checked against ca_file (the
    system's CAs without one) and the host they are dialled by, and this member
    presents its own. Raises OSError as :func:`server_context`."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    return context
