"""Message identity on Tencent's wire: C2C `MsgKey` and group `MsgSeq` (MAPPING.md section 6).

A C2C message is named by `MsgKey = "<MsgSeq>_<MsgRandom>_<MsgTime>"` together with its two users
(every call that takes a MsgKey also names them: From_Account/To_Account, Operator_Account/
Peer_Account). In imql the MsgSeq is the conversation's seq and MsgRandom the message's random,
so a key and its pair of users lead straight to the stored message. A group message is named by
its group and `MsgSeq`, the group's seq (tips included), as on Tencent.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.digits import is_digits


@dataclass(frozen=True)
class MsgKey:
    seq: int
    random: int
    time: int

    def __str__(self) -> str:
        return f"{self.seq}_{self.random}_{self.time}"


def parse_msg_key(text: str) -> MsgKey | None:
    """The parts of a MsgKey, or None when `text` is not one."""
    parts = text.split("_")
    if len(parts) != 3 or not all(is_digits(p) for p in parts):
        return None
    seq, random, time = (int(p) for p in parts)
    return MsgKey(seq, random, time) if seq > 0 else None
