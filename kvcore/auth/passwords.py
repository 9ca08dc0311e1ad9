"""Salted password hashes.

etcd keeps bcrypt hashes. kvcore uses scrypt from the standard library: a salted,
memory-hard key derivation as strong as bcrypt against guessing, with no native
dependency to install. Hashing and checking take tens of milliseconds on purpose:
callers run them off the event loop.

A stored hash reads ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``, so the cost can
change later without invalidating stored passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import os

_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1  # 16 MiB and ~50 ms per hash
_SALT_BYTES = 16
_HASH_BYTES = 32


def hash_password(password: str) -> str:
    salt = os.urandom(_SALT_BYTES)
    digest = _derive(password, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(stored: bytes, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (a hash from :func:`hash_password`);
    False for anything that is not such a hash."""
    try:
        scheme, n, r, p, salt, digest = stored.decode().split("$")
        if scheme != _SCHEME:
            return False
        want = bytes.fromhex(digest)
        got = _derive(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, want)


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=_HASH_BYTES
    )
