"""Reading a REST v4 request body: typed fields, refused with the calling service's own code.

Each Tencent service answers a bad request with its own code (openim 90009-ish, groups 10004,
sns 30001, profile 40001, ...), so a `Body` carries the code of the service it was sent to. Names
are case-sensitive, as Tencent's are; an integer field given as a JSON string holding digits is
accepted (Tencent's servers accept both, and several public clients send strings).
"""

from __future__ import annotations

from typing import Any

from gateway.digits import INT64_MIN, UINT64_MAX, parse_integer
from gateway.errors import IMError

_MISSING = object()


class Body:
    """A JSON object from a request (or one of its nested objects), read field by field."""

    def __init__(self, raw: dict[str, Any], invalid_code: int, where: str = "") -> None:
        self.raw = raw
        self.invalid_code = invalid_code
        self._where = where

    def error(self, desc: str) -> IMError:
        return IMError(self.invalid_code, desc)

    def _name(self, name: str) -> str:
        return f"{self._where}.{name}" if self._where else name

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def _value(self, name: str, default: Any) -> Any:
        value = self.raw.get(name)
        if value is None:
            if default is _MISSING:
                raise self.error(f"{self._name(name)} is required")
            return default
        return value

    def string(self, name: str, default: Any = _MISSING, *, max_bytes: int | None = None, empty: bool = False) -> Any:
        """A string field; required unless `default` is given (which may be None)."""
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise self.error(f"{self._name(name)} must be a string")
        if not value and not empty:
            raise self.error(f"{self._name(name)} must not be empty")
        if max_bytes is not None and len(value.encode()) > max_bytes:
            raise self.error(f"{self._name(name)} is over {max_bytes} bytes")
        return value

    def integer(self, name: str, default: Any = _MISSING, *, lo: int | None = None, hi: int | None = None) -> Any:
        """An integer field (a string of digits is accepted); required unless `default` is given."""
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, str) and (number := parse_integer(value)) is not None:
            value = number
        if isinstance(value, bool) or not isinstance(value, int) or not INT64_MIN <= value <= UINT64_MAX:
            raise self.error(f"{self._name(name)} must be an integer of at most 64 bits")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.error(f"{self._name(name)} must be between {lo} and {hi}")
        return value

    def flag(self, name: str, default: int = 0) -> bool:
        """A 0/1 switch (Tencent's booleans are integers)."""
        return bool(self.integer(name, default, lo=0, hi=1))

    def strings(
        self, name: str, default: Any = _MISSING, *, max_items: int, min_items: int = 1, max_bytes: int | None = None
    ) -> Any:
        """A list of non-empty strings, at most `max_items` (Tencent's batch cap for the call)."""
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(f"{self._name(name)} must be a list of non-empty strings")
        if len(value) < min_items:
            raise self.error(f"{self._name(name)} needs at least {min_items} item(s)")
        if len(value) > max_items:
            raise self.error(f"{self._name(name)} has {len(value)} items; at most {max_items} per call")
        if max_bytes is not None and any(len(v.encode()) > max_bytes for v in value):
            raise self.error(f"{self._name(name)}: an item is over {max_bytes} bytes")
        return value

    def objects(self, name: str, default: Any = _MISSING, *, max_items: int, min_items: int = 1) -> Any:
        """A list of JSON objects, each read as a `Body` with the same code."""
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(f"{self._name(name)} must be a list of objects")
        if len(value) < min_items:
            raise self.error(f"{self._name(name)} needs at least {min_items} item(s)")
        if len(value) > max_items:
            raise self.error(f"{self._name(name)} has {len(value)} items; at most {max_items} per call")
        return [Body(v, self.invalid_code, f"{self._name(name)}[{i}]") for i, v in enumerate(value)]

    def object(self, name: str, default: Any = _MISSING) -> Any:
        """A nested JSON object as a `Body`."""
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, dict):
            raise self.error(f"{self._name(name)} must be an object")
        return Body(value, self.invalid_code, self._name(name))

    def choice(self, name: str, choices: dict[str, Any], default: Any = _MISSING) -> Any:
        """A string field naming one of `choices` (Tencent's enumerations are strings: "Public", "Admin", ...)."""
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or value not in choices:
            raise self.error(f"{self._name(name)} must be one of {', '.join(sorted(choices))}")
        return choices[value]
