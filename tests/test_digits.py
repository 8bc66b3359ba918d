"""Integers written as text are read strictly (gateway/digits.py): ASCII digits only, at most 20."""

from __future__ import annotations

import pytest

from gateway.digits import is_digits, parse_integer
from gateway.events import positions


@pytest.mark.parametrize("text", ["0", "42", "9" * 20])
def test_ascii_digits_are_digits(text: str) -> None:
    assert is_digits(text)


@pytest.mark.parametrize("text", ["", "\u00b2", "\u0663", "\uff11", "1_000", " 1", "-1", "9" * 21])
def test_what_str_isdigit_or_int_would_take_otherwise_is_not(text: str) -> None:
    assert not is_digits(text)


@pytest.mark.parametrize(
    ("text", "value"), [("7", 7), (" -7 ", -7), ("-0", 0), ("--5", None), ("\u00b2", None), ("+5", None), ("", None)]
)
def test_a_signed_integer_is_parsed_or_refused(text: str, value: int | None) -> None:
    assert parse_integer(text) == value


def test_a_stream_position_with_other_digits_is_no_position() -> None:
    assert positions.is_valid("1-2")
    assert not positions.is_valid("\u00b2-1")
    assert not positions.is_valid("1-" + "9" * 21)
