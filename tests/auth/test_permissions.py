"""Range permissions, passwords and simple tokens, without a server."""

from __future__ import annotations

import hashlib

import pytest

from kvcore.api.authpb.auth_pb2 import Permission, Role
from kvcore.auth import passwords
from kvcore.auth.info import AuthInfo
from kvcore.auth.jwt_tokens import SIGN_METHODS, JwtTokens
from kvcore.auth.permissions import IntervalSet, UserPermissions, is_valid_permission_range
from kvcore.auth.tokens import SimpleTokens, token_index

READ, WRITE, READWRITE = Permission.READ, Permission.WRITE, Permission.READWRITE


def perms(*grants: tuple[int, bytes, bytes]) -> UserPermissions:
    role = Role(
        name=b"r", keyPermission=[Permission(permType=t, key=k, range_end=e) for t, k, e in grants]
    )
    return UserPermissions.merge([role])


def test_single_key_permission_allows_that_key_only() -> None:
    p = perms((READ, b"a", b""))
    assert p.allows(b"a", b"", READ)
    assert not p.allows(b"a\x00", b"", READ)
    assert not p.allows(b"a", b"b", READ)  # a range, even one starting at the key
    assert not p.allows(b"a", b"", WRITE)


def test_prefix_range_and_from_key() -> None:
    p = perms((READWRITE, b"p/", b"p0"), (WRITE, b"z", b"\x00"))
    assert p.allows(b"p/x", b"", READ) and p.allows(b"p/x", b"", WRITE)
    assert p.allows(b"p/", b"p0", READ)
    assert p.allows(b"p/a", b"p/b", READ)
    assert not p.allows(b"p/", b"p1", READ)  # runs past the prefix
    assert not p.allows(b"p/", b"\x00", READ)  # open-ended past the prefix
    assert p.allows(b"zzz", b"", WRITE) and p.allows(b"z", b"\x00", WRITE)
    assert not p.allows(b"y", b"\x00", WRITE)
    assert not p.allows(b"zzz", b"", READ)


def test_touching_and_overlapping_grants_cover_their_union() -> None:
    p = perms((READ, b"a", b"c"), (READ, b"c", b"e"), (READ, b"d", b"g"))
    assert p.allows(b"a", b"g", READ)
    assert not p.allows(b"a", b"h", READ)
    gap = IntervalSet([(b"a", b"c"), (b"d", b"e")])
    assert not gap.covers((b"b", b"d\x00"))


def test_roles_merge() -> None:
    one = Role(name=b"1", keyPermission=[Permission(permType=READ, key=b"a", range_end=b"m")])
    two = Role(name=b"2", keyPermission=[Permission(permType=READ, key=b"m", range_end=b"z")])
    assert UserPermissions.merge([one, two]).allows(b"b", b"y", READ)
    assert not UserPermissions.merge([one]).allows(b"b", b"y", READ)


@pytest.mark.parametrize(
    ("key", "end", "valid"),
    [
        (b"a", b"", True),
        (b"a", b"\x00", True),
        (b"a", b"b", True),
        (b"", b"", False),
        (b"b", b"a", False),
        (b"a", b"a", False),
    ],
)
def test_valid_permission_ranges(key: bytes, end: bytes, valid: bool) -> None:
    assert is_valid_permission_range(key, end) is valid


def test_password_hashes_are_salted_and_checked() -> None:
    first, second = passwords.hash_password("pw"), passwords.hash_password("pw")
    assert first != second
    assert first.startswith("$2a$10$")  # etcd's bcrypt and cost
    assert passwords.check_password(first.encode(), "pw")
    assert not passwords.check_password(first.encode(), "pW")
    assert not passwords.check_password(b"", "pw")
    assert not passwords.check_password(b"$2a$10$notahash", "pw")


def test_etcds_hashes_and_kvcores_first_ones_check() -> None:
    # Written by etcd 3.4.23 for "rootpw", and by kvcore's scrypt scheme for "pw".
    etcd = b"$2a$10$AwWy0TQqtzdpx4DaKSgh/e3J11pOSd6TddlqxDHu/lmRG2uX47KPm"
    assert passwords.check_password(etcd, "rootpw")
    assert not passwords.check_password(etcd, "rootpW")
    salt = bytes(16)
    digest = hashlib.scrypt(b"pw", salt=salt, n=2**14, r=8, p=1, dklen=32)
    scrypt = f"scrypt${2**14}$8$1${salt.hex()}${digest.hex()}".encode()
    assert passwords.check_password(scrypt, "pw")
    assert not passwords.check_password(scrypt, "pW")


def test_a_password_past_72_bytes_counts_up_to_there() -> None:
    stored = passwords.hash_password("p" * 100).encode()
    assert passwords.check_password(stored, "p" * 72 + "anything")
    assert not passwords.check_password(stored, "p" * 71)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_simple_tokens_expire_unless_used_and_die_with_their_user() -> None:
    clock = FakeClock()
    tokens = SimpleTokens(ttl=10, clock=clock)
    alice = tokens.assign("abc", 7, "alice", 3)
    bob = tokens.assign("def", 8, "bob", 3)
    assert alice == "abc.7" and token_index(alice) == 7
    clock.now = 8
    assert tokens.info(alice, 5) == AuthInfo("alice", 5)  # renews alice's token only
    clock.now = 15
    assert tokens.info(bob, 5) is None
    assert tokens.info(alice, 5) == AuthInfo("alice", 5)
    tokens.invalidate_user("alice")
    assert tokens.info(alice, 5) is None


@pytest.mark.parametrize("token", ["abc", "abc.", "abc.x", "a.b.1", ""])
def test_malformed_tokens_have_no_index(token: str) -> None:
    assert token_index(token) is None


def _private_key(method: str) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    curves = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
    key = (
        ec.generate_private_key(curves[method])
        if method in curves
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize("method", ["RS256", "ES256", "ES512"])
def test_jwt_tokens_carry_their_revision_and_expire(method: str) -> None:
    assert method in SIGN_METHODS
    clock = FakeClock()
    tokens = JwtTokens(method, _private_key(method), ttl=60, clock=clock)
    token = tokens.assign("", 9, "alice", 4)
    assert tokens.info(token, 7) == AuthInfo("alice", 4)  # the revision at login
    header, claims, signature = token.split(".")
    forged = ".".join(
        [header, claims.replace(claims[5], "A" if claims[5] != "A" else "B"), signature]
    )
    assert tokens.info(forged, 7) is None
    stranger = JwtTokens(method, _private_key(method), ttl=60, clock=clock)
    assert stranger.info(token, 7) is None
    assert tokens.info("not.a.token", 7) is None
    clock.now = 61
    assert tokens.info(token, 7) is None
