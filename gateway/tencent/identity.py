"""Which Tencent message a mirror message is (docs/tencent-design.md, "Identity").

imql msgIDs stay the mirror's (they locate a message without an index); Tencent names a C2C
message by its `MsgKey` with the pair of users. One hash per conversation links them both ways,
written when the gateway sends a message (Tencent's answer) and when a native user's message is
mirrored (the webhook's key and the mirror's answer):
- `m:<mirror msgID>` → Tencent's MsgKey: what a recall or a modification by an imql user names;
- `t:<Tencent MsgKey>` → `<mirror msgID> <mirror MsgKey>`: what a native recall or modification
  (a webhook) finds in the mirror.
The links are kept as long as the conversation (a message is recalled or modified long after it
was sent, by its admin); IMQL_MESSAGE_RETENTION_DAYS trims them with the messages.

Early recalls: Tencent's webhooks are retried and come in no set order, so a message's recall may
reach the mirror before its send. The recall is noted (one key per message, for a day: C2C by its
MsgKey, a group's by its timeline and MsgSeq) and applied when the send comes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.errors import Code, IMError
from gateway.im.messages import StoredMessage
from gateway.keys import Keys

EARLY_RECALL_SECONDS = 86_400


class MirrorMessage:
    def __init__(self, msg_id: str, mirror_key: str) -> None:
        self.msg_id = msg_id
        self.mirror_key = mirror_key


class TencentIds:
    def __init__(self, redis: Any, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def link_c2c(self, user_a: str, user_b: str, msg_id: str, mirror_key: str, tencent_key: str) -> None:
        await self._redis.hset(
            self._keys.tencent_c2c_ids(user_a, user_b),
            mapping={f"m:{msg_id}": tencent_key, f"t:{tencent_key}": f"{msg_id} {mirror_key}"},
        )

    async def tencent_key(self, user_a: str, user_b: str, msg_id: str) -> str | None:
        raw = await self._redis.hget(self._keys.tencent_c2c_ids(user_a, user_b), f"m:{msg_id}")
        return None if raw is None else str(raw)

    async def mirror_message(self, user_a: str, user_b: str, tencent_key: str) -> MirrorMessage | None:
        raw = await self._redis.hget(self._keys.tencent_c2c_ids(user_a, user_b), f"t:{tencent_key}")
        if raw is None:
            return None
        msg_id, _, mirror_key = str(raw).partition(" ")
        return MirrorMessage(msg_id, mirror_key)

    async def note_early_recall(self, user_a: str, user_b: str, tencent_key: str) -> None:
        """A recall of a C2C message the mirror has not had, kept for its send to find."""
        await self._note_early_recalls([self._keys.tencent_early_recall(user_a, user_b, tencent_key)])

    async def early_recall(self, user_a: str, user_b: str, tencent_key: str) -> bool:
        """Whether the message was recalled before it reached the mirror. Read, not taken: the note
        goes (`forget_early_recall`) once the recall is applied, so a send handled again after a
        failure still finds it."""
        return bool(await self._redis.exists(self._keys.tencent_early_recall(user_a, user_b, tencent_key)))

    async def forget_early_recall(self, user_a: str, user_b: str, tencent_key: str) -> None:
        await self._redis.delete(self._keys.tencent_early_recall(user_a, user_b, tencent_key))

    async def note_early_group_recalls(self, group_or_topic: str, seqs: Sequence[int], operator: str) -> None:
        """Recalls by `operator` of the messages at `seqs` of a group (or topic) the mirror has not
        had, kept for their sends to find."""
        await self._note_early_recalls(
            [self._keys.tencent_group_early_recall(group_or_topic, seq) for seq in seqs], operator
        )

    async def early_group_recall(self, group_or_topic: str, seq: int) -> str | None:
        """Who recalled the message at `seq` before it reached the mirror ("" for the app admin), or
        None. Read, not taken: the note goes (`forget_early_group_recall`) once the recall is applied,
        so a send handled again after a failure still finds it."""
        raw = await self._redis.get(self._keys.tencent_group_early_recall(group_or_topic, seq))
        return None if raw is None else str(raw)

    async def forget_early_group_recall(self, group_or_topic: str, seq: int) -> None:
        await self._redis.delete(self._keys.tencent_group_early_recall(group_or_topic, seq))

    async def _note_early_recalls(self, keys: Sequence[str], operator: str = "") -> None:
        """Kept for a day (EARLY_RECALL_SECONDS): a send comes within Tencent's retries, or never."""
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, operator, ex=EARLY_RECALL_SECONDS)
        await pipe.execute()

    async def key_of(self, message: StoredMessage) -> str:
        """Tencent's MsgKey of a mirrored C2C message; 7013 for one Tencent never had."""
        key = await self.tencent_key(message.sender, message.receiver, message.msgID)
        if key is None:
            raise IMError(
                Code.ERR_SDK_INTERFACE_NOT_SUPPORT,
                "not available on the Tencent backend: this message was never sent through Tencent "
                "(e.g. stored before the gateway used it), so Tencent cannot name it",
            )
        return key
