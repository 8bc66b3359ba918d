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
"""

from __future__ import annotations

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
        """A recall of a message the mirror has not had: Tencent's webhooks are retried and come
        in no set order, so its send may come next. Kept for a day, for that send to find."""
        await self._redis.set(self._keys.tencent_early_recall(user_a, user_b, tencent_key), 1, ex=EARLY_RECALL_SECONDS)

    async def take_early_recall(self, user_a: str, user_b: str, tencent_key: str) -> bool:
        """Whether the message was recalled before it reached the mirror (once: the note goes)."""
        return bool(await self._redis.delete(self._keys.tencent_early_recall(user_a, user_b, tencent_key)))

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
