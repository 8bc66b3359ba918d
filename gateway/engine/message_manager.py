"""The embedded MessageManager: one object over the message parts, each built with what it needs.

`MessageCore` holds storage and what every part shares (created messages and their claims,
history pages, revoke and modify), and reads views through the MessageViews it is given. The
parts (C2C, groups, receipts, merged messages, replies, search, extensions) each hold the core
and their own collaborators, and know nothing of one another; this facade builds them and
delegates to them (synapse's handler over its store). Engine parts that need less take a part
itself: AllMemberPush the core, Conversations the C2C part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.clock import Clock
from gateway.engine.announcer import Announcer
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.errors import maps_store_errors
from gateway.engine.extensions import Extensions
from gateway.engine.friendship import Friendship
from gateway.engine.group_messages import GroupMessaging, ImportedGroupMessage, ImportResult
from gateway.engine.groups.store import GroupStore
from gateway.engine.merger import Merging
from gateway.engine.message_core import Draft, InlineSend, MessageCore, PushFeed, keyed_claim
from gateway.engine.message_events import MessageEvents
from gateway.engine.message_views import MessageViews
from gateway.engine.messages import C2CMessaging, ServerSend
from gateway.engine.profiles import Profiles
from gateway.engine.receipts import ReadReceipts
from gateway.engine.replies import Replies
from gateway.engine.search import Searching
from gateway.events.bus import EventBus
from gateway.im.enums import ElemType, GetType, MessageOpt
from gateway.im.messages import (
    Content,
    CreatedMessage,
    GroupMessageReadMembers,
    Message,
    MessageExtension,
    MessageExtensionResult,
    MessageReceipt,
    MessageSearchResult,
    ReceiveOpt,
    SearchParam,
    SendOptions,
    StoredMessage,
)
from gateway.keys import Keys
from gateway.upstream import Upstream, UpstreamExtension


@maps_store_errors
class EmbeddedMessages:
    """gateway.backend.MessageManager by delegation, plus what the REST API and the Tencent
    mirror call on messages (stored group messages, imports, admin clears and mutes)."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        profiles: Profiles,
        friendship: Friendship,
        groups: GroupStore,
        viewer: MessageViews,
        announcer: Announcer,
        push_queue: PushFeed,
        *,
        friends_only: bool = False,
        callbacks: Callbacks | None = None,
        upstream: Upstream | None = None,
        message_events: MessageEvents | None = None,
    ) -> None:
        callbacks = callbacks or Callbacks()  # the app's third-party callbacks (off: Callbacks())
        self.core = core = MessageCore(
            redis,
            keys,
            bus,
            clock,
            profiles,
            friendship,
            groups,
            viewer,
            announcer,
            push_queue,
            callbacks=callbacks,
            upstream=upstream,
            message_events=message_events,
        )
        self.c2c = C2CMessaging(
            core, redis, keys, bus, clock, profiles, friendship, callbacks, upstream, friends_only=friends_only
        )
        self.group = GroupMessaging(core, redis, keys, bus, profiles, groups, callbacks, upstream)
        self.receipts = ReadReceipts(core, redis, keys, bus, clock, groups, callbacks, upstream)
        self.merging = Merging(core, redis, keys)
        self.replies = Replies(core)
        self.search = Searching(core, redis, keys, groups)
        self.extensions = Extensions(core, redis, keys, bus, groups, callbacks, upstream)

    # ---- storage, views, revoke and modify (MessageCore) -------------------------------------------------------------
    async def create_message(
        self, user_id: str, content: Content, *, at_users: Sequence[str] = (), targets: Sequence[str] = ()
    ) -> CreatedMessage:
        return await self.core.create_message(user_id, content, at_users=at_users, targets=targets)

    async def load_visible(self, user_id: str, msg_id: str, arg: str = "msgID") -> StoredMessage:
        return await self.core.load_visible(user_id, msg_id, arg)

    async def find_messages(self, user_id: str, msg_ids: Sequence[str]) -> list[Message]:
        return await self.core.find_messages(user_id, msg_ids)

    async def revoke_message(self, user_id: str, session_id: str, msg_id: str, *, as_admin: bool = False) -> None:
        await self.core.revoke_message(user_id, session_id, msg_id, as_admin=as_admin)

    async def modify_message(
        self,
        user_id: str,
        session_id: str,
        msg_id: str,
        content: Content | None,
        cloud_custom_data: str | None,
        *,
        as_admin: bool = False,
    ) -> Message:
        return await self.core.modify_message(
            user_id, session_id, msg_id, content, cloud_custom_data, as_admin=as_admin
        )

    async def delete_message_from_local_storage(self, user_id: str, msg_id: str) -> None:
        await self.core.delete_message_from_local_storage(user_id, msg_id)

    # ---- C2C messages, global mutes (C2CMessaging) -------------------------------------------------------------------
    async def send_c2c_message(
        self,
        user_id: str,
        session_id: str,
        created_id: str,
        receiver: str,
        options: SendOptions,
        *,
        server: ServerSend | None = None,
    ) -> Message:
        return await self.c2c.send_c2c_message(user_id, session_id, created_id, receiver, options, server=server)

    async def send_c2c_content(
        self,
        user_id: str,
        session_id: str,
        content: Content,
        receiver: str,
        options: SendOptions,
        *,
        idempotency_key: str | None = None,
    ) -> Message:
        inline = InlineSend(content=content, claim_id=keyed_claim(idempotency_key))
        return await self.c2c.send_c2c_message(user_id, session_id, "", receiver, options, inline=inline)

    async def get_c2c_history_message_list(
        self,
        user_id: str,
        peer: str,
        count: int,
        *,
        get_type: GetType = GetType.V2TIM_GET_CLOUD_OLDER_MSG,
        last_msg_id: str | None = None,
        message_types: Sequence[ElemType] = (),
        time_begin: int = 0,
        time_period: int = 0,
    ) -> list[Message]:
        return await self.c2c.get_c2c_history_message_list(
            user_id,
            peer,
            count,
            get_type=get_type,
            last_msg_id=last_msg_id,
            message_types=message_types,
            time_begin=time_begin,
            time_period=time_period,
        )

    async def upstream_read_ms(self, user_id: str, peers: Sequence[str], now_ms: int) -> dict[str, int]:
        return await self.c2c.upstream_read_ms(user_id, peers, now_ms)

    async def mark_c2c_message_as_read(self, user_id: str, peer: str, *, read_time: int | None = None) -> None:
        await self.c2c.mark_c2c_message_as_read(user_id, peer, read_time=read_time)

    async def clear_c2c_history_message(self, user_id: str, peer: str) -> None:
        await self.c2c.clear_c2c_history_message(user_id, peer)

    async def insert_c2c_message_to_local_storage(
        self, user_id: str, peer: str, sender: str, content: Content
    ) -> Message:
        return await self.c2c.insert_c2c_message_to_local_storage(user_id, peer, sender, content)

    async def set_c2c_receive_message_opt(self, user_id: str, user_ids: Sequence[str], opt: MessageOpt) -> None:
        await self.c2c.set_c2c_receive_message_opt(user_id, user_ids, opt)

    async def get_c2c_receive_message_opt(self, user_id: str, user_ids: Sequence[str]) -> list[ReceiveOpt]:
        return await self.c2c.get_c2c_receive_message_opt(user_id, user_ids)

    async def unread_c2c(self, user_id: str, peer: str) -> int:
        return await self.c2c.unread_c2c(user_id, peer)

    async def mark_all_message_as_read(self, user_id: str) -> None:
        await self.c2c.mark_all_message_as_read(user_id)

    async def set_global_mute(self, user_id: str, c2c_until: int | None, group_until: int | None) -> None:
        await self.c2c.set_global_mute(user_id, c2c_until, group_until)

    async def global_mute(self, user_id: str) -> tuple[int, int]:
        return await self.c2c.global_mute(user_id)

    # ---- group messages (GroupMessaging) -----------------------------------------------------------------------------
    async def send_group_content(
        self,
        user_id: str,
        session_id: str,
        content: Content,
        group_id: str,
        options: SendOptions,
        receiver: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Message:
        inline = InlineSend(content=content, claim_id=keyed_claim(idempotency_key))
        return await self.group.send_group_message(user_id, session_id, "", group_id, options, receiver, inline=inline)

    async def derive_created_message(
        self,
        user_id: str,
        created_id: str,
        *,
        at_users: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> CreatedMessage:
        return await self.group.derive_created_message(user_id, created_id, at_users=at_users, targets=targets)

    async def send_group_message(
        self,
        user_id: str,
        session_id: str,
        created_id: str,
        group_id: str,
        options: SendOptions,
        receiver: str | None = None,
        *,
        draft: Draft | None = None,
        random: int | None = None,
        as_admin: bool = False,
        upstream_seq: int = 0,
        upstream_time: int = 0,
    ) -> Message:
        return await self.group.send_group_message(
            user_id,
            session_id,
            created_id,
            group_id,
            options,
            receiver,
            draft=draft,
            random=random,
            as_admin=as_admin,
            upstream_seq=upstream_seq,
            upstream_time=upstream_time,
        )

    async def stored_group_messages(
        self, group_id: str, seqs: Sequence[int], *, with_cleared: bool = False
    ) -> tuple[int, dict[int, StoredMessage]]:
        return await self.group.stored_group_messages(group_id, seqs, with_cleared=with_cleared)

    async def import_group_messages(
        self, group_id: str, items: Sequence[ImportedGroupMessage], *, recent_contact: bool
    ) -> list[ImportResult]:
        return await self.group.import_group_messages(group_id, items, recent_contact=recent_contact)

    async def delete_messages_by_sender(self, group_id: str, sender: str) -> int:
        return await self.group.delete_messages_by_sender(group_id, sender)

    async def clear_group_messages(self, group_id: str, up_to_seq: int | None = None) -> int:
        return await self.group.clear_group_messages(group_id, up_to_seq)

    async def get_group_history_message_list(
        self,
        user_id: str,
        group_id: str,
        count: int,
        *,
        get_type: GetType = GetType.V2TIM_GET_CLOUD_OLDER_MSG,
        last_msg_id: str | None = None,
        last_seq: int | None = None,
        seq_list: Sequence[int] = (),
        message_types: Sequence[ElemType] = (),
        time_begin: int = 0,
        time_period: int = 0,
    ) -> list[Message]:
        return await self.group.get_group_history_message_list(
            user_id,
            group_id,
            count,
            get_type=get_type,
            last_msg_id=last_msg_id,
            last_seq=last_seq,
            seq_list=seq_list,
            message_types=message_types,
            time_begin=time_begin,
            time_period=time_period,
        )

    async def mark_group_message_as_read(self, user_id: str, group_id: str) -> None:
        await self.group.mark_group_message_as_read(user_id, group_id)

    async def group_unread(self, user_id: str, group_id: str) -> int:
        return await self.group.group_unread(user_id, group_id)

    async def set_group_receive_message_opt(self, user_id: str, group_id: str, opt: MessageOpt) -> None:
        await self.group.set_group_receive_message_opt(user_id, group_id, opt)

    async def clear_group_history_message(self, user_id: str, group_id: str) -> None:
        await self.group.clear_group_history_message(user_id, group_id)

    async def insert_group_message_to_local_storage(
        self, user_id: str, group_id: str, sender: str, content: Content
    ) -> Message:
        return await self.group.insert_group_message_to_local_storage(user_id, group_id, sender, content)

    # ---- read receipts (ReadReceipts) --------------------------------------------------------------------------------
    async def send_message_read_receipts(self, user_id: str, msg_ids: Sequence[str]) -> None:
        await self.receipts.send_message_read_receipts(user_id, msg_ids)

    async def get_message_read_receipts(self, user_id: str, msg_ids: Sequence[str]) -> list[MessageReceipt]:
        return await self.receipts.get_message_read_receipts(user_id, msg_ids)

    async def receipts_of(self, messages: list[StoredMessage]) -> list[MessageReceipt]:
        return await self.receipts.receipts_of(messages)

    async def get_group_message_read_member_list(
        self, user_id: str, msg_id: str, read_filter: int, next_seq: int, count: int
    ) -> GroupMessageReadMembers:
        return await self.receipts.get_group_message_read_member_list(user_id, msg_id, read_filter, next_seq, count)

    # ---- merged messages (Merging) -----------------------------------------------------------------------------------
    async def create_merger_message(
        self, user_id: str, msg_ids: Sequence[str], title: str, abstracts: Sequence[str], compatible_text: str
    ) -> CreatedMessage:
        return await self.merging.create_merger_message(user_id, msg_ids, title, abstracts, compatible_text)

    async def download_merger_message(self, user_id: str, msg_id: str) -> list[Message]:
        return await self.merging.download_merger_message(user_id, msg_id)

    # ---- replies (Replies) -------------------------------------------------------------------------------------------
    async def reply_data(self, user_id: str, replied_id: str, receiver: str | None, group_id: str | None) -> str:
        return await self.replies.reply_data(user_id, replied_id, receiver, group_id)

    # ---- search (Searching) ------------------------------------------------------------------------------------------
    async def search_messages(self, user_id: str, p: SearchParam) -> MessageSearchResult:
        return await self.search.search_messages(user_id, p)

    # ---- message extensions (Extensions) -----------------------------------------------------------------------------
    async def get_message_extensions(self, user_id: str, msg_id: str) -> list[MessageExtension]:
        return await self.extensions.get_message_extensions(user_id, msg_id)

    async def set_message_extensions(
        self,
        user_id: str,
        session_id: str,
        msg_id: str,
        extensions: Sequence[MessageExtension],
        versioned: Sequence[bool],
    ) -> list[MessageExtensionResult]:
        return await self.extensions.set_message_extensions(user_id, session_id, msg_id, extensions, versioned)

    async def delete_message_extensions(
        self, user_id: str, session_id: str, msg_id: str, keys: Sequence[str], *, clearing: bool = False
    ) -> list[MessageExtensionResult]:
        return await self.extensions.delete_message_extensions(user_id, session_id, msg_id, keys, clearing=clearing)

    async def apply_upstream_extensions(
        self, stored: StoredMessage, changes: Sequence[UpstreamExtension] | None, *, delete: bool
    ) -> None:
        await self.extensions.apply_upstream_extensions(stored, changes, delete=delete)
