"""Salted password hashes, as etcd keeps them: bcrypt at etcd's default cost (10).

The same hash in the same bucket means a user carried in a snapshot logs in on etcd
and on kvcore alike. Hashing and checking take tens of milliseconds on purpose:
callers run them off the event loop. bcrypt reads the first 72 bytes of a password;
so did the Go bcrypt of etcd 3.4/3.5, which ignored the rest without an error, and so
kvcore cuts a longer one there rather than refuse it.

kvcore's first releases stored ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``; such
hashes still check, so users created then keep logging in.
"""

from __future__ import annotations

import hashlib
import hmac

import bcrypt

_COST = 10
_BCRYPT_BYTES = 72


def hash_password(password: str) -> str:
    salt = bcrypt.gensalt(_COST, prefix=b"2a")  # etcd's Go bcrypt writes $2a$
    return bcrypt.hashpw(_key(password), salt).decode()


def check_password(stored: bytes, password: str) -> bool:
    """Whether ``password`` matches ``stored``; False for anything that is not a hash."""
    if stored.startswith(b"scrypt$"):
        return _check_scrypt(stored, password)
    try:
        return bcrypt.checkpw(_key(password), stored)
    except ValueError:  # not a bcrypt hash
        return False


def _key(password: str) -> bytes:
    return password.encode()[:_BCRYPT_BYTES]


def _check_scrypt(stored: bytes, password: str) -> bool:
    try:
        _scheme, n, r, p, salt, digest = stored.decode().split("$")
        want = bytes.fromhex(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=256 * 1024 * 1024,
            dklen=len(want),
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, want)
