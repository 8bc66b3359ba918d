"""Message IDs that say where their message lives.

A msgID encodes its conversation and seq (`["c", userA, userB, seq, random]` or
`["g", groupID, seq, random]`, JSON, base64url), so finding a message by ID is one HGET in its
timeline, with no index to keep. Clients treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from gateway.errors import invalid

MAX_MSG_ID_LENGTH = 512


class MessageRef(msgspec.Struct, frozen=True):
    kind: str  # "c" (C2C) or "g" (group)
    first: str  # C2C: the lower userID; group: the groupID
    second: str  # C2C: the higher userID; group: ""
    seq: int
    random: int

    @property
    def is_group(self) -> bool:
        return self.kind == "g"

    def peer_of(self, user_id: str) -> str:
        """C2C: the other user of the conversation."""
        return self.second if self.first == user_id else self.first


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(list[str | int])


def c2c_msg_id(a: str, b: str, seq: int, random: int) -> str:
    low, high = sorted((a, b))
    return _b64(_enc.encode(["c", low, high, seq, random]))


def group_msg_id(group_id: str, seq: int, random: int) -> str:
    return _b64(_enc.encode(["g", group_id, seq, random]))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_msg_id(msg_id: str, arg: str = "msgID") -> MessageRef:
    if not msg_id or len(msg_id) > MAX_MSG_ID_LENGTH:
        raise invalid(f"{arg} is not a message ID")
    try:
        parts = _dec.decode(base64.urlsafe_b64decode(msg_id + "=" * (-len(msg_id) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise invalid(f"{arg} is not a message ID") from exc
    match parts:
        case ["c", str(low), str(high), int(seq), int(rand)] if seq > 0:
            return MessageRef("c", low, high, seq, rand)
        case ["g", str(group), int(seq), int(rand)] if seq > 0:
            return MessageRef("g", group, "", seq, rand)
    raise invalid(f"{arg} is not a message ID")
