"""bench.floor_c2c's tokens: the peer's HMAC tokens, so the floor checks what the peer checks."""

from __future__ import annotations

import time

from bench.floor_c2c import TOKEN_SECONDS, token_for, user_of

SECRET = "floor-secret"


def test_a_token_names_its_user_with_or_without_bearer() -> None:
    token = token_for("alice@x.y", SECRET)
    assert user_of(token, SECRET.encode()) == "alice@x.y"
    assert user_of(f"Bearer {token}", SECRET.encode()) == "alice@x.y"


def test_a_forged_expired_or_malformed_token_names_no_one() -> None:
    token = token_for("alice", SECRET)
    user, expires, mac = token.split(".")
    assert user_of(token, b"another secret") is None
    bob = token_for("bob", SECRET).split(".")[0]
    assert user_of(f"{bob}.{expires}.{mac}", SECRET.encode()) is None  # alice's signature on bob's name
    assert user_of(token_for("alice", SECRET, now=time.time() - TOKEN_SECONDS - 5), SECRET.encode()) is None
    assert user_of(f"{user}.{expires}", SECRET.encode()) is None
    assert user_of("", SECRET.encode()) is None
