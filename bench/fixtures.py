"""Scenario data written straight into Redis in the engine's own layout, keys and encoders.

Sending a million messages through the engine would take longer than the benchmark; these write
what those sends leave behind (timelines, conversation indexes), pipelined, so a scenario's data
is the same as a real app's after the same traffic. Each writer names what it leaves out.
"""

from __future__ import annotations

import secrets
import time

import msgspec

from gateway.engine.message_ids import c2c_msg_id
from gateway.ids import c2c_conversation_id
from gateway.im.enums import ElemType
from gateway.im.messages import Content, StoredMessage, TextElem
from gateway.services import Gateway

BATCH = 5_000  # commands per pipeline: big enough to be fast, small enough not to stall Redis
# The subscription the delivery scenarios hold: each new message's text, by which they match it.
TEXT_LISTENER = (
    "subscription { advancedMsgListener { __typename ... on RecvNewMessageEvent { message { textElem { text } } } } }"
)
_encoder = msgspec.json.Encoder()


def _text(sender: str, receiver: str, seq: int, now: int) -> StoredMessage:
    random = secrets.randbelow(2**31)
    return StoredMessage(
        msgID=c2c_msg_id(sender, receiver, seq, random),
        sender=sender,
        receiver=receiver,
        seq=seq,
        random=random,
        timestamp=now,
        content=Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=f"message number {seq}")),
    )


async def text_draft(gw: Gateway, sender: str, text: str) -> str:
    """A created text message (what createTextMessage returns), ready for sendMessage."""
    created = await gw.backend.messages.create_message(
        sender, Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=text))
    )
    return created.id


async def c2c_conversation_of(gw: Gateway, a: str, b: str, messages: int) -> None:
    """`messages` texts between a and b, alternating senders, all read (no unread index)."""
    for user in (a, b):
        await gw.backend.accounts.ensure_account(user)
    keys = gw.keys
    timeline = keys.c2c_timeline(a, b)
    now = int(time.time())
    pipe = gw.redis.pipeline(transaction=False)
    for seq in range(1, messages + 1):
        sender, receiver = (a, b) if seq % 2 else (b, a)
        pipe.hset(keys.timeline_messages(timeline), str(seq), _encoder.encode(_text(sender, receiver, seq, now)))
        if len(pipe) >= BATCH:
            await pipe.execute()
    pipe.set(keys.timeline_seq(timeline), messages)
    millis = int(time.time() * 1000)
    pipe.zadd(keys.conversations(a), {c2c_conversation_id(b): millis})
    pipe.zadd(keys.conversations(b), {c2c_conversation_id(a): millis})
    await pipe.execute()


async def many_c2c_conversations(gw: Gateway, owner: str, peers: list[str], unread_each: int = 1) -> None:
    """One conversation with each peer, the newest holding `unread_each` unread messages for `owner`."""
    keys = gw.keys
    now = int(time.time())
    base_ms = int(time.time() * 1000) - len(peers)
    for peer in [owner, *peers]:
        await gw.backend.accounts.ensure_account(peer)
    pipe = gw.redis.pipeline(transaction=False)
    for i, peer in enumerate(peers):
        timeline = keys.c2c_timeline(owner, peer)
        for seq in range(1, unread_each + 1):
            pipe.hset(keys.timeline_messages(timeline), str(seq), _encoder.encode(_text(peer, owner, seq, now)))
            pipe.zadd(keys.timeline_countable_for(timeline, owner), {str(seq): base_ms + i})
        pipe.set(keys.timeline_seq(timeline), unread_each)
        pipe.zadd(keys.conversations(owner), {c2c_conversation_id(peer): base_ms + i})
        pipe.zadd(keys.conversations(peer), {c2c_conversation_id(owner): base_ms + i})
        if len(pipe) >= BATCH:
            await pipe.execute()
    await pipe.execute()
