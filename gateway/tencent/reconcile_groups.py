"""Reconciliation of group messages: what a lost `Group.CallbackAfterSendMsg` did not bring, read
back from Tencent for each of a user's groups when the user comes online (gateway.tencent.reconcile).

A group's messages are stored in the mirror at Tencent's MsgSeq (gateway.tencent.mirror_group_messages),
so what the mirror lacks is what Tencent has above the last seq read back: `group_msg_get_simple`
newest first down to that seq, then each message applied oldest first through the same applier as
the webhook (`message_sent`: live, unread, onRecvNewMessage), which leaves a seq the mirror already
holds with the same Random alone, so a message the webhook brought too is applied once.

The mark is per group (the group's timeline is every member's): a hash of group → the newest
Tencent seq read back. A group never read back starts from the mirror's newest message that is not
a tip (the mirror's own tips take seqs of their own, so its newest seq may be ahead of Tencent's).

A topic-enabled community's topics are timelines of their own (`TopicId` on every call, the mark
per topic): one `get_topic` of the community gives each topic's next seq on Tencent, and only the
topics the mirror has with news above their mark are read back (a topic the mirror has never seen
comes in with its first message, or an SDK call naming it: gateway.tencent.mirror_topics).

Cost: one mirror read per group, and one `group_msg_get_simple` page per 20 new messages (at most
GROUP_PAGES_MAX pages per group: a longer gap keeps only its newest messages); for a community with
topics, one mirror read and one `get_topic` more, and the pages of the topics with news.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.keys import Keys
from gateway.tencent.client import TencentRestClient
from gateway.tencent.errors import TencentError, is_tencent_outage
from gateway.tencent.inbound import GroupMessageSent
from gateway.tencent.mirror_group_messages import message_sent
from gateway.tencent.mirror_groups import AVCHATROOM, SVC
from gateway.tencent.mirror_topics import TOPIC_SVC, mirrored_topics
from gateway.tencent.mirror_writes import MirrorRefused, MirrorWrites

log = logging.getLogger("imql.tencent")

HISTORY_PAGE = 20  # group_msg_get_simple's ReqMsgNumber cap
GROUP_PAGES_MAX = 5  # pages read back per group per reconciliation (100 messages)
JOINED_PAGE = 1000  # get_joined_group_list's Limit
SEND_CALLBACK = "Group.CallbackAfterSendMsg"  # the webhook a read-back message stands in for
COMMUNITY = "Community"  # the only type with topics


class GroupReconciler:
    def __init__(self, client: TencentRestClient, mirror: MirrorWrites, redis: Any, keys: Keys) -> None:
        self._client = client
        self._mirror = mirror
        self._redis = redis
        self._keys = keys

    async def user(self, user_id: str) -> int:
        """Reconcile the messages of the user's groups (as the mirror knows them); how many the mirror lacked."""
        brought = 0
        for group_id, group_type in await self._joined(user_id):
            try:
                brought += await self.group(group_id, group_type)
                if group_type == COMMUNITY:
                    for topic_id in await self._topics_with_news(group_id, user_id):
                        brought += await self.group(group_id, group_type, topic_id)
            except Exception:  # one group failing (e.g. dismissed on Tencent meanwhile) leaves the others
                log.warning("reconciliation of group %s failed", group_id, exc_info=True)
        return brought

    async def _topics_with_news(self, group_id: str, user_id: str) -> list[str]:
        """The community's topics the mirror has whose newest seq on Tencent is above their mark
        (or that were never read back); none for a community without topics."""
        try:
            mirrored = await mirrored_topics(self._mirror, group_id, None)
        except MirrorRefused:
            return []  # no topics here (a community without them)
        if not mirrored:
            return []
        try:
            answer = await self._client.call(
                f"{TOPIC_SVC}/get_topic", {"GroupId": group_id, "From_Account": user_id}, idempotent=True
            )
        except TencentError as refused:
            if refused.tencent_code is None or is_tencent_outage(refused):
                raise  # unknown now (the group's failure is logged, the next reconciliation tries again)
            return []  # Tencent serves no topics for it (any more)
        newest = {
            str(i["TopicInfo"]["TopicId"]): int(i["TopicInfo"].get("NextMsgSeq") or 1) - 1
            for i in answer.result_items("TopicAndSelfInfo")
            if isinstance(i.get("TopicInfo"), dict) and isinstance(i["TopicInfo"].get("TopicId"), str)
        }
        wanted = [t for t in mirrored if t in newest]
        marks = await self._redis.hmget(self._keys.tencent_groups_synced(), wanted) if wanted else []
        return [t for t, mark in zip(wanted, marks, strict=True) if mark is None or newest[t] > int(mark)]

    async def _joined(self, user_id: str) -> list[tuple[str, str]]:
        body = {"Member_Account": user_id, "Limit": JOINED_PAGE, "ResponseFilter": {"GroupBaseInfoFilter": ["Type"]}}
        answer = await self._mirror.apply(f"{SVC}/get_joined_group_list", body)
        return [
            (str(g["GroupId"]), str(g.get("Type", "")))
            for g in answer.get("GroupIdList", [])
            if g.get("Type") != AVCHATROOM  # live-stream rooms keep no history
        ]

    async def group(self, group_id: str, group_type: str, topic_id: str = "") -> int:
        """Read back one group's (`topic_id`: one of its topics') messages the mirror lacks."""
        marks = self._keys.tencent_groups_synced()
        timeline = topic_id or group_id  # a topic's ID names it apart from its community
        raw = await self._redis.hget(marks, timeline)
        since = int(raw) if raw is not None else await self._mirror_last_seq(group_id, topic_id)
        found, newest = await self._newer_than(group_id, since, topic_id)
        brought = 0
        for item in sorted(found, key=lambda m: int(m["MsgSeq"])):
            event = GroupMessageSent(
                command=SEND_CALLBACK,
                group_id=group_id,
                group_type=group_type,
                from_account=str(item.get("From_Account") or ""),
                random=int(item.get("MsgRandom") or 0),
                msg_body=tuple(item.get("MsgBody") or ()),
                cloud_custom_data=str(item.get("CloudCustomData") or ""),
                msg_seq=int(item["MsgSeq"]),
                msg_time=int(item.get("MsgTimeStamp") or 0),
                topic_id=topic_id,
            )
            if await self._mirror_holds(event):
                continue
            await message_sent(self._mirror, event)
            brought += 1
        if raw is None or newest > since:
            await self._redis.hset(marks, timeline, newest)
        return brought

    @staticmethod
    def _where(group_id: str, topic_id: str) -> dict[str, str]:
        return {"GroupId": group_id, "TopicId": topic_id} if topic_id else {"GroupId": group_id}

    async def _mirror_last_seq(self, group_id: str, topic_id: str = "") -> int:
        """The newest seq the mirror holds a Tencent message at (not one of its own tips)."""
        answer = await self._mirror.apply(
            f"{SVC}/group_msg_get_simple",
            {**self._where(group_id, topic_id), "ReqMsgNumber": HISTORY_PAGE, "WithRecalledMsg": 1},
        )
        items = answer.get("RspMsgList", [])
        for item in items:  # newest first
            if not item.get("IsSystemMsg") and item.get("IsPlaceMsg") != 1:
                return int(item["MsgSeq"])
        return max((int(i["MsgSeq"]) for i in items), default=0)

    async def _newer_than(self, group_id: str, since: int, topic_id: str = "") -> tuple[list[dict[str, Any]], int]:
        """Tencent's messages of the group (or topic) above seq `since` (users' messages only), and its newest seq."""
        body: dict[str, Any] = {**self._where(group_id, topic_id), "ReqMsgNumber": HISTORY_PAGE}
        found: list[dict[str, Any]] = []
        newest = since
        for _ in range(GROUP_PAGES_MAX):
            answer = await self._client.call(f"{SVC}/group_msg_get_simple", body, idempotent=True)
            items = answer.result_items("RspMsgList") if answer.get("RspMsgList") else []
            seqs = [int(i.get("MsgSeq") or 0) for i in items]
            newest = max([newest, *seqs])
            found += [
                i
                for i in items
                if int(i.get("MsgSeq") or 0) > since
                and not i.get("IsPlaceMsg")
                and not i.get("IsSystemMsg")
                and i.get("MsgBody")
            ]
            lowest = min(seqs, default=0)
            if lowest <= since + 1:
                break
            body = {**body, "ReqMsgSeq": lowest - 1}
        return found, newest

    async def _mirror_holds(self, event: GroupMessageSent) -> bool:
        """Whether the mirror has this message already (at its seq, with its Random)."""
        where = self._where(event.group_id, event.topic_id)
        answer = await self._mirror.apply(
            f"{SVC}/group_msg_get_simple",
            {**where, "ReqMsgSeq": event.msg_seq, "ReqMsgNumber": 1, "WithRecalledMsg": 1},
        )
        return any(
            m.get("MsgSeq") == event.msg_seq and m.get("MsgRandom") == event.random and not m.get("IsSystemMsg")
            for m in answer.get("RspMsgList", [])
        )
