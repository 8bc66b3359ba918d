"""The resume cursor: opaque to clients, exact for us.

A cursor holds the position a subscriber reached in every stream it reads: its own user stream and
the stream of each group it belongs to (group events are stored once, DESIGN "Events"). Resuming
replays every entry after each position, so no event is skipped or repeated whatever the order in
which the streams interleaved. Encoded as unpadded base64url of a small JSON document with a
version field, so the format can change without breaking old cursors silently.

A user in hundreds of groups would otherwise carry hundreds of positions in every event. So the
group positions a subscription started from are kept once in Redis (its "base", named in the
cursor), and a cursor lists only the groups whose position moved since: a few, for most users.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from gateway.errors import invalid
from gateway.events import positions

CURSOR_VERSION = 1
BASE_ID_LENGTH = 16  # hex characters of a base's random name
MAX_CURSOR_LENGTH = 64 * 1024  # a user active in all of their (at most 500) groups still fits


class _Wire(msgspec.Struct, frozen=True):
    v: int
    u: str
    g: dict[str, str] = {}
    b: str = ""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Wire)


class Cursor(msgspec.Struct, frozen=True):
    user: str
    groups: dict[str, str] = {}  # group → position, for groups whose position differs from the base
    base: str = ""  # names the Redis-kept group positions the other groups resume from ("": none)

    def encode(self) -> str:
        raw = _encoder.encode(_Wire(v=CURSOR_VERSION, u=self.user, g=self.groups, b=self.base))
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
        if wire.v != CURSOR_VERSION or not all(positions.is_valid(i) for i in ids) or not _is_base_id(wire.b):
            raise invalid(f"{arg} is not a cursor this gateway issued")
        return Cursor(user=wire.u, groups=dict(wire.g), base=wire.b)


def _is_base_id(text: str) -> bool:
    return text == "" or (len(text) == BASE_ID_LENGTH and all(c in "0123456789abcdef" for c in text))
