"""Redis Stream entry IDs (`<ms>-<seq>`) as comparable positions."""

from __future__ import annotations

from gateway.digits import is_digits

ORIGIN = "0-0"  # before the first entry of any stream


def parse(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def is_valid(entry_id: str) -> bool:
    ms, sep, seq = entry_id.partition("-")
    return bool(sep) and is_digits(ms) and is_digits(seq)


def after(a: str, b: str) -> bool:
    """True when position `a` comes strictly after `b`. Two positions whose milliseconds and
    sequence numbers have the same numbers of digits compare as their text does, unparsed: a
    large group's fan-out compares its entry with each of 10,000 members' positions."""
    if len(a) == len(b) and a.find("-") == b.find("-"):
        return a > b
    return parse(a) > parse(b)


def millis(entry_id: str) -> int:
    return parse(entry_id)[0]
