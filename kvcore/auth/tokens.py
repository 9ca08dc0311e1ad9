"""etcd's simple tokens: ``<16 random letters>.<raft index>``, held in memory by every
member for a TTL that each use renews.

The member that checks the password draws the random part; the token is assigned when
the Authenticate entry is applied, the index being that entry's, so every member knows
it once it has applied that far (a caller waits for that before looking a token up).
Tokens are lost on restart and dropped when auth is disabled, the user is deleted or
their password changes, as in etcd.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable

from kvcore.auth.info import AuthInfo

_LETTERS = string.ascii_letters
_PREFIX_LENGTH = 16


def new_prefix() -> str:
    return "".join(secrets.choice(_LETTERS) for _ in range(_PREFIX_LENGTH))


def token_index(token: str) -> int | None:
    """The raft index a well-formed simple token names, or None."""
    parts = token.split(".")
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    return int(parts[1])


class SimpleTokens:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._users: dict[str, str] = {}  # token -> user name
        self._expiry: dict[str, float] = {}

    def assign(self, prefix: str, index: int, username: str, revision: int) -> str:
        self._expire()
        token = f"{prefix}.{index}"
        self._users[token] = username
        self._expiry[token] = self._clock() + self._ttl
        return token

    def info(self, token: str, revision: int) -> AuthInfo | None:
        """The user ``token`` was given to, at ``revision`` (the current one: a simple
        token names no revision), renewing it; None if unknown or expired."""
        username = self._user(token)
        return AuthInfo(username, revision) if username is not None else None

    def _user(self, token: str) -> str | None:
        expiry = self._expiry.get(token)
        if expiry is None:
            return None
        now = self._clock()
        if now > expiry:
            self._drop(token)
            return None
        self._expiry[token] = now + self._ttl
        return self._users[token]

    def invalidate_user(self, username: str) -> None:
        for token in [t for t, name in self._users.items() if name == username]:
            self._drop(token)

    def clear(self) -> None:
        self._users.clear()
        self._expiry.clear()

    def _expire(self) -> None:
        now = self._clock()
        for token in [t for t, expiry in self._expiry.items() if now > expiry]:
            self._drop(token)

    def _drop(self, token: str) -> None:
        self._users.pop(token, None)
        self._expiry.pop(token, None)
