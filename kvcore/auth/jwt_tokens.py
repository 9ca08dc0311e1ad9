"""etcd's JWT tokens (``--auth-token=jwt,...``): signed claims of the user name, the
auth revision at login and an expiry. Any member holding the key checks one without
state; a token from before a change to users or roles names an old revision, which
the permission checks refuse ("revision of auth store is old").

Signing uses the ``cryptography`` package, needed only when JWT tokens are configured.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from kvcore.auth.info import AuthInfo

# Algorithm -> (key kind, hash name, bytes of each ECDSA signature half).
_METHODS: dict[str, tuple[str, str, int]] = {
    "RS256": ("rsa", "SHA256", 0),
    "RS384": ("rsa", "SHA384", 0),
    "RS512": ("rsa", "SHA512", 0),
    "ES256": ("ec", "SHA256", 32),
    "ES384": ("ec", "SHA384", 48),
    "ES512": ("ec", "SHA512", 66),
}
SIGN_METHODS = tuple(_METHODS)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class JwtTokens:
    def __init__(
        self,
        sign_method: str,
        private_key: bytes,
        ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from cryptography.hazmat.primitives import hashes, serialization

        self._kind, hash_name, self._half = _METHODS[sign_method]
        self._hash = getattr(hashes, hash_name)()
        self._key: Any = serialization.load_pem_private_key(private_key, password=None)
        self._header = _b64(json.dumps({"alg": sign_method, "typ": "JWT"}).encode())
        self._ttl = ttl
        self._clock = clock

    def assign(self, prefix: str, index: int, username: str, revision: int) -> str:
        claims = {"username": username, "revision": revision, "exp": int(self._clock() + self._ttl)}
        signed = f"{self._header}.{_b64(json.dumps(claims).encode())}"
        return f"{signed}.{_b64(self._sign(signed.encode()))}"

    def info(self, token: str, revision: int) -> AuthInfo | None:
        """The user and revision a valid, unexpired token of ours names, else None."""
        from cryptography.exceptions import InvalidSignature

        try:
            header, claims_text, signature = token.split(".")
            if header != self._header:
                return None
            self._verify(_unb64(signature), f"{header}.{claims_text}".encode())
            claims = json.loads(_unb64(claims_text))
            if claims["exp"] < self._clock():
                return None
            return AuthInfo(str(claims["username"]), int(claims["revision"]))
        except (ValueError, KeyError, TypeError, InvalidSignature):
            return None

    def invalidate_user(self, username: str) -> None:
        """A JWT cannot be taken back: it lapses when it expires (as etcd's)."""

    def clear(self) -> None:
        """Nothing is held (auth disabled: the next login names a newer revision)."""

    def _sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

        if self._kind == "rsa":
            return self._key.sign(data, padding.PKCS1v15(), self._hash)
        r, s = utils.decode_dss_signature(self._key.sign(data, ec.ECDSA(self._hash)))
        return r.to_bytes(self._half, "big") + s.to_bytes(self._half, "big")

    def _verify(self, signature: bytes, data: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

        public = self._key.public_key()
        if self._kind == "rsa":
            public.verify(signature, data, padding.PKCS1v15(), self._hash)
            return
        if len(signature) != 2 * self._half:
            raise ValueError("bad ECDSA signature size")
        r = int.from_bytes(signature[: self._half], "big")
        s = int.from_bytes(signature[self._half :], "big")
        public.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(self._hash))
