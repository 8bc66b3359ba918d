"""Integers written as text (headers, query parameters, cursors, JSON strings), read strictly.

`str.isdigit()` alone is not a check for `int()`: it passes "²" and other scripts' digits, which
`int()` then refuses, and a string of thousands of digits, which `int()` refuses past Python's
conversion limit. Everything that turns outside text into an integer asks here first, and checks
the width the value must fit against the bounds here.
"""

from __future__ import annotations

LONGEST = 20  # digits: enough for any 64-bit integer, signed or not
# The widths integers come in: a GraphQL Int; a Long; the widest of Tencent's fields (uint64 seqs)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1


def is_digits(text: str, max_digits: int = LONGEST) -> bool:
    """`text` is 1 to `max_digits` ASCII digits."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def parse_integer(text: str, max_digits: int = LONGEST) -> int | None:
    """A signed integer written as text (spaces around it allowed), or None when it is not one."""
    body = text.strip()
    digits = body[1:] if body.startswith("-") else body
    return int(body) if is_digits(digits, max_digits) else None


def lenient_int(value: object) -> int:
    """An integer as a peer may send it: a number or a string of ASCII digits; anything else
    (a bool, a float, text, nothing) is 0. Tencent sends some integers as digit strings."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_digits(value):
        return int(value)
    return 0
