"""Graph edges beyond the SDK, batched with DataLoaders so a page costs a fixed number of calls:
Conversation.messages (the newest messages of each conversation) and Message.senderProfile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from gateway.im import conversations as conv_model
from gateway.im import messages as msg_model
from gateway.im.enums import GetType
from gateway.im.model import UserFullInfo
from schema.context import IMContext

Ctx = Info[IMContext, None]


async def conversation_messages(
    info: Ctx, root: conv_model.Conversation, count: int, last_msg_id: str | None
) -> list[msg_model.Message]:
    session = await info.context.session()
    if last_msg_id:  # a later page of one conversation: a plain history call
        peer = root.userID or None
        group = root.groupID or None
        return await session.get_history_message_list(
            peer=peer,
            group_id=group,
            count=count,
            get_type=GetType.V2TIM_GET_CLOUD_OLDER_MSG,
            last_msg_id=last_msg_id,
            message_types=[],
            time_begin=0,
            time_period=0,
        )

    async def load(keys: Sequence[tuple[str, int]]) -> list[list[msg_model.Message]]:
        by_count: dict[int, list[str]] = {}
        for conv, n in keys:
            by_count.setdefault(n, []).append(conv)
        found: dict[tuple[str, int], list[msg_model.Message]] = {}
        for n, convs in by_count.items():
            for conv, messages in (await session.recent_messages(list(dict.fromkeys(convs)), n)).items():
                found[(conv, n)] = messages
        return [found.get(key, []) for key in keys]

    loader: DataLoader[tuple[str, int], list[msg_model.Message]] = info.context.loader(
        "conversation-messages", lambda: DataLoader(load_fn=load)
    )
    return await loader.load((root.conversationID, count))


async def sender_profile(info: Ctx, root: msg_model.Message) -> UserFullInfo | None:
    session = await info.context.session()

    async def load(user_ids: Sequence[str]) -> list[Any]:
        profiles = {p.userID: p for p in await session.get_users_info(list(dict.fromkeys(user_ids)))}
        return [profiles.get(u) for u in user_ids]

    loader: DataLoader[str, UserFullInfo | None] = info.context.loader("profiles", lambda: DataLoader(load_fn=load))
    return await loader.load(root.sender)
