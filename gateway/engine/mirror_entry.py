"""The engine's writes for an upstream IM server's news (`gateway.upstream.MirrorEntry`): a message
the upstream has, stored with the upstream's time and delivered as the embedded engine delivers
its own, exactly once per upstream identity."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from gateway.engine.message_manager import EmbeddedMessages
from gateway.engine.messages import ServerSend
from gateway.errors import IMError
from gateway.im.messages import SendOptions
from gateway.upstream import MirroredMessage, UpstreamC2CMessage, UpstreamExtension, from_upstream
from gateway.v4.identity import MsgKey

log = logging.getLogger("imql.tencent")

# the session of a write nobody's device made: no session is told "except this one"
NO_SESSION = ""


class EngineMirrorEntry:
    def __init__(self, messages: EmbeddedMessages) -> None:
        self._messages = messages

    async def c2c_message(self, message: UpstreamC2CMessage) -> MirroredMessage | None:
        # the created id is the claim that makes a repeat (a webhook's retry, a reconciliation of a
        # message a webhook already brought) return the first result instead of a second message
        digest = hashlib.sha256(f"{message.receiver}\0{message.key}".encode()).hexdigest()[:24]
        options = SendOptions(
            onlineUserOnly=message.online_only,
            cloudCustomData=message.cloud_custom_data or None,
            isExcludedFromUnreadCount=not message.live,
        )
        server = ServerSend(
            content=message.content, random=message.random, timestamp=message.timestamp, live=message.live
        )
        with from_upstream():
            sent = await self._messages.send_c2c_message(
                message.sender, NO_SESSION, f"upstream-{digest}", message.receiver, options, server=server
            )
        if message.online_only:
            return None
        return MirroredMessage(msg_id=sent.msgID, key=str(MsgKey(sent.seq, sent.random, sent.timestamp)))

    async def c2c_extensions(
        self, viewer: str, msg_id: str, changes: Sequence[UpstreamExtension] | None, *, delete: bool
    ) -> None:
        try:
            stored = await self._messages.load_visible(viewer, msg_id)
        except IMError as exc:  # gone from the mirror (retention, a local delete): nothing to change
            log.info("extensions of %s not mirrored: %s", msg_id, exc.desc)
            return
        await self._messages.apply_upstream_extensions(stored, changes, delete=delete)

    async def group_extensions(
        self, group_id: str, seq: int, changes: Sequence[UpstreamExtension] | None, *, delete: bool
    ) -> None:
        _, found = await self._messages.stored_group_messages(group_id, [seq])
        stored = found.get(seq)
        if stored is None:  # never mirrored (sent before the mirror knew the group) or online-only
            log.info("extensions of %s seq %s not mirrored: no such message here", group_id, seq)
            return
        await self._messages.apply_upstream_extensions(stored, changes, delete=delete)

    async def group_receipts(self, group_id: str, reads: Sequence[tuple[int, str]]) -> None:
        _, found = await self._messages.stored_group_messages(group_id, sorted({seq for seq, _ in reads}))
        by_reader: dict[str, list[str]] = {}
        for seq, reader in reads:
            stored = found.get(seq)
            if stored is not None:  # others were never mirrored (online-only, or before the group was known)
                by_reader.setdefault(reader, []).append(stored.msgID)
        for reader, msg_ids in by_reader.items():
            try:
                with from_upstream():
                    await self._messages.send_message_read_receipts(reader, msg_ids)
            except IMError as exc:  # a reader the mirror does not count as a member: nothing to record
                log.info("receipts of %s in %s not mirrored: %s", reader, group_id, exc.desc)
