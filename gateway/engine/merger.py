"""Merged (combined-forward) messages: createMergerMessage and downloadMergerMessage.

The merged messages are copied when the merged message is created, as the SDK uploads them, so
the merged message reads the same after the originals are revoked, modified or cleared. A merged
message may contain merged messages, up to MAX_LAYERS deep: past that it still sends, flagged
isLayersOverLimit with no title or abstracts, and its contents cannot be downloaded (8005).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from gateway.engine.codec import BUNDLE_DEC, BUNDLE_ENC
from gateway.engine.message_core import MessageCore
from gateway.errors import Code, IMError, invalid
from gateway.im.enums import ElemType, MsgStatus
from gateway.im.messages import Content, CreatedMessage, MergerElem, Message, StoredMessage
from gateway.keys import Keys

MERGED_MAX = 300
ABSTRACTS_MAX = 5
ABSTRACT_MAX_CHARS = 100
MAX_LAYERS = 100


class Merging:
    """The merged-message part of the message manager."""

    def __init__(self, core: MessageCore, redis: Any, keys: Keys) -> None:
        self._core = core
        self._redis = redis
        self._keys = keys

    async def create_merger_message(
        self, user_id: str, msg_ids: Sequence[str], title: str, abstracts: Sequence[str], compatible_text: str
    ) -> CreatedMessage:
        if not msg_ids or len(msg_ids) > MERGED_MAX:
            raise invalid(f"msgIDList: 1 to {MERGED_MAX} messages")
        if len(abstracts) > ABSTRACTS_MAX or any(len(a) > ABSTRACT_MAX_CHARS for a in abstracts):
            raise invalid(f"abstractList: at most {ABSTRACTS_MAX} abstracts of at most {ABSTRACT_MAX_CHARS} characters")
        merged: list[StoredMessage] = []
        for msg_id in dict.fromkeys(msg_ids):
            stored = await self._core.load_visible(user_id, msg_id, "msgIDList")
            if stored.status != MsgStatus.V2TIM_MSG_STATUS_SEND_SUCC:
                raise invalid(f"msgIDList: {msg_id!r} is not a sent message (revoked or local only)")
            if stored.content.elemType == ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS:
                raise invalid("msgIDList: group tips cannot be merged")
            merged.append(stored)
        merged.sort(key=lambda m: (m.timestamp, m.seq))  # a chat record reads oldest first
        inner = [m.content.mergerElem.layers for m in merged if m.content.mergerElem is not None]
        layers = 1 + max(inner, default=0)
        bundle = secrets.token_urlsafe(12)
        await self._redis.set(self._keys.merger_bundle(bundle), BUNDLE_ENC.encode(merged))
        over = layers > MAX_LAYERS
        elem = MergerElem(
            title="" if over else title,
            abstractList=[] if over else list(abstracts),
            isLayersOverLimit=over,
            compatibleText=compatible_text,
            msgIDList=[m.msgID for m in merged],
            layers=layers,
            bundle=bundle,
        )
        return await self._core.create_message(
            user_id, Content(elemType=ElemType.V2TIM_ELEM_TYPE_MERGER, mergerElem=elem)
        )

    async def download_merger_message(self, user_id: str, msg_id: str) -> list[Message]:
        """The messages a merged message carries, as they were when it was created."""
        stored = await self._core.load_visible(user_id, msg_id)
        elem = stored.content.mergerElem
        if elem is None:
            raise invalid("msgID: not a merged message")
        if elem.isLayersOverLimit:
            raise IMError(Code.ERR_MERGER_MSG_LAYERS_OVER_LIMIT, f"merged messages nest at most {MAX_LAYERS} deep")
        raw = await self._redis.get(self._keys.merger_bundle(elem.bundle)) if elem.bundle else None
        if raw is None:
            raise invalid("msgID: this merged message's contents are gone")
        return await self._core.views(user_id, BUNDLE_DEC.decode(raw))
