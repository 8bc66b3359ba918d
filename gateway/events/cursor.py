"""The resume cursor: opaque to clients, exact for us.

A cursor holds the position a subscriber reached in every stream it reads: its own user stream and
the stream of each large group it belongs to (group events stored once, DESIGN "Events"). Resuming
replays every entry after each position, so no event is skipped or repeated whatever the order in
which the streams interleaved. Encoded as unpadded base64url of a small JSON document with a
version field, so the format can change without breaking old cursors silently.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from gateway.errors import invalid
from gateway.events import positions

CURSOR_VERSION = 1
MAX_CURSOR_LENGTH = 64 * 1024  # a user in hundreds of large groups still fits


class _Wire(msgspec.Struct, frozen=True):
    v: int
    u: str
    g: dict[str, str] = {}


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Wire)


class Cursor(msgspec.Struct, frozen=True):
    user: str
    groups: dict[str, str] = {}

    def encode(self) -> str:
        raw = _encoder.encode(_Wire(v=CURSOR_VERSION, u=self.user, g=self.groups))
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @staticmethod
    def decode(text: str, arg: str = "since") -> Cursor:
        if len(text) > MAX_CURSOR_LENGTH:
            raise invalid(f"{arg} is not a cursor this gateway issued (too long)")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            wire = _decoder.decode(raw)
        except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
            raise invalid(f"{arg} is not a cursor this gateway issued") from exc
        ids = [wire.u, *wire.g.values()]
        if wire.v != CURSOR_VERSION or not all(positions.is_valid(i) for i in ids):
            raise invalid(f"{arg} is not a cursor this gateway issued")
        return Cursor(user=wire.u, groups=dict(wire.g))
