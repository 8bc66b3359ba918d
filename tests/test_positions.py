"""Stream positions compare as the numbers they hold, whichever way `after` takes."""

from __future__ import annotations

import itertools

from gateway.events import positions

POSITIONS = [
    "0-0",
    "0-1",
    "9-0",
    "10-0",
    "1765000000000-0",
    "1765000000000-1",
    "1765000000000-9",
    "1765000000000-10",
    "1765000000001-0",
    "1765000000009-12",
    "1765000000010-3",
    "0001765000000000-5",  # a cursor may carry leading zeros (positions.is_valid allows them)
    "1765000000000-007",
    "17650000000000-0",
]


def test_after_agrees_with_the_numbers_for_every_pair() -> None:
    for a, b in itertools.product(POSITIONS, repeat=2):
        assert positions.after(a, b) == (positions.parse(a) > positions.parse(b)), (a, b)
