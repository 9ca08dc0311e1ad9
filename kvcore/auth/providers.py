"""The token provider a node's auth configuration asks for."""

from __future__ import annotations

from kvcore.auth.store import Tokens
from kvcore.auth.tokens import SimpleTokens
from kvcore.config import AuthConfig


def token_provider(cfg: AuthConfig) -> Tokens:
    if cfg.jwt is None:
        return SimpleTokens(cfg.token_ttl)
    from kvcore.auth.jwt_tokens import JwtTokens  # needs the cryptography package

    return JwtTokens(cfg.jwt.sign_method, cfg.jwt.private_key.read_bytes(), cfg.jwt.ttl)
