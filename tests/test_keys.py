"""Key names from user and group ids (gateway.keys): an id is escaped so that it can never close
its hash tag, open another, or pose as a key's separator, and SCAN's names give the id back."""

from __future__ import annotations

import random

import pytest

from gateway.keys import Keys, escape_id, unescape_id

SPECIAL = "%{}:|"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("alice", "alice"),
        ("user_1-2.3@x", "user_1-2.3@x"),
        ("a:b", "a%3Ab"),
        ("{x}", "%7Bx%7D"),
        ("a|b", "a%7Cb"),
        ("100%", "100%25"),
        ("%7B", "%257B"),  # a literal code is escaped itself, so it never reads back as "{"
        (":{}|%", "%3A%7B%7D%7C%25"),
        ("", ""),
    ],
)
def test_escape_id(raw: str, escaped: str) -> None:
    assert escape_id(raw) == escaped
    assert unescape_id(escaped) == raw


def test_any_id_round_trips_and_keeps_out_of_the_key_syntax() -> None:
    rng = random.Random(21)
    alphabet = SPECIAL + "ab7_-é"
    for _ in range(5_000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        escaped = escape_id(raw)
        assert not set("{}:|") & set(escaped), raw
        assert unescape_id(escaped) == raw


def test_an_id_cannot_leave_its_hash_tag() -> None:
    keys = Keys(1400000000)
    # a user named like another user's tag ending still has a tag of its own
    crafted = keys.session("bob}:x{1400000000:u:alice", "s")
    assert crafted.startswith("imql:{1400000000:u:bob%7D%3Ax%7B1400000000%3Au%3Aalice}:session:")
    assert crafted[crafted.index("{") : crafted.index("}") + 1].count("{") == 1
