"""Who makes a request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuthInfo:
    """A user, and the auth revision their credentials were checked at."""

    username: str
    revision: int
