"""Reply (quote) messages: sendReplyMessage keeps the replied message's reference in the reply's
cloudCustomData, in the layout Tencent's chat UIs read: {"messageReply": {...}}."""

from __future__ import annotations

import msgspec

from gateway.engine.message_core import MessageCore
from gateway.errors import invalid
from gateway.ids import c2c_conversation_id, group_conversation_id
from gateway.im.enums import MsgStatus
from gateway.im.messages import content_abstract

REPLY_VERSION = 1


class MessageReply(msgspec.Struct):
    messageID: str
    messageAbstract: str
    messageSender: str
    messageType: int
    version: int = REPLY_VERSION


class _ReplyData(msgspec.Struct):
    messageReply: MessageReply


_enc = msgspec.json.Encoder()


class Replies:
    """The reply part of the message manager: a reply's reference to the message it quotes."""

    def __init__(self, core: MessageCore) -> None:
        self._core = core

    async def reply_data(self, user_id: str, replied_id: str, receiver: str | None, group_id: str | None) -> str:
        """The cloudCustomData of a reply to `replied_id` sent to `receiver` or `group_id`: the
        replied message must be one the user sees, in that same conversation."""
        replied = await self._core.load_visible(user_id, replied_id, "replyMessage.msgID")
        target = group_conversation_id(group_id) if group_id else c2c_conversation_id(receiver or "")
        if self._core.conversation_for(user_id, replied) != target:
            raise invalid("replyMessage: a reply goes to the replied message's conversation")
        if replied.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED:  # its content is gone: not quoted
            raise invalid("replyMessage: a revoked message cannot be replied to")
        reply = MessageReply(
            messageID=replied.msgID,
            messageAbstract=content_abstract(replied.content),
            messageSender=replied.nickName or replied.sender,
            messageType=int(replied.content.elemType),
        )
        return _enc.encode(_ReplyData(messageReply=reply)).decode()
