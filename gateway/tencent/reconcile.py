"""Reconciliation: what a lost webhook did not bring, read back from Tencent.

Tencent's webhooks are at-most-once by default (no retry unless the console turns it on), so a
gateway restart, a network blip or an overloaded endpoint can lose one. When an imql user comes
online (their first live session after being offline), and every IMQL_TENCENT_RECONCILE_SECONDS
for the users live on each replica, the gateway reads their recent contacts
from Tencent (`recentcontact/get_list`) and, for every C2C conversation whose last message is
newer than what was last read back, the messages since then (`openim/admin_getroammsg`), and
applies the ones the mirror lacks (by MsgKey: the identity map), exactly as a webhook would have:
live and unread.

A user's first read-back brings at most FIRST_SYNC_MESSAGES of each conversation's last
FIRST_SYNC_SECONDS, as history (not unread, nobody is told): it is the user's existing Tencent
history, not news. After that, a conversation that began since the user's previous pass is news.

Cost: one get_list page per 100 conversations, plus one admin_getroammsg page per 100 messages of
each conversation that changed, at each coming-online; the REST rate limits (gateway.tencent.limits)
bound it. The messages of the user's groups are read back then too (gateway.tencent.reconcile_groups).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from gateway.clock import Clock
from gateway.keys import Keys
from gateway.tencent.client import TencentRestClient
from gateway.tencent.mirror_c2c import apply_c2c_message
from gateway.tencent.mirror_writes import MirrorWrites
from gateway.tencent.reconcile_groups import GroupReconciler

log = logging.getLogger("imql.tencent")

C2C = 1  # recentcontact Type
ROAM_PAGE = 100  # admin_getroammsg MaxCnt
LIST_PAGES_MAX = 20  # recent-contact pages read per reconciliation (2,000 conversations)
ROAM_PAGES_MAX = 10  # pages of one conversation read per reconciliation (1,000 messages)
FIRST_SYNC_SECONDS = 7 * 86_400  # Tencent's default roaming: 7 days
FIRST_SYNC_MESSAGES = 100
# Tencent's times are whole seconds: a conversation whose last message is in the second it was read
# back up to may have gained another in that second, so one that recent is read again (by MsgKey,
# what was already applied is not applied twice)
SAME_SECOND_SLACK_SECONDS = 60
USER_MARK = ""  # the field of a user's last pass in their marks (no userID is empty)


class Reconciler:
    def __init__(self, client: TencentRestClient, mirror: MirrorWrites, redis: Any, keys: Keys, clock: Clock) -> None:
        self._client = client
        self._clock = clock
        self._mirror = mirror
        self._redis = redis
        self._keys = keys
        self._groups = GroupReconciler(client, mirror, redis, keys)
        self._running: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    async def user_came_online(self, user_id: str) -> None:
        """Presence's listener: reconcile in the background (the session's start does not wait)."""
        task = asyncio.create_task(self._quietly(user_id), name=f"imql-tencent-reconcile-{user_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def start_periodic(self, live_users: Callable[[], list[str]], every_seconds: float) -> None:
        """Every `every_seconds`, reconcile the users live on this process, one after the other (a
        webhook lost while a user stays online is read back then; each replica does its own)."""
        if every_seconds <= 0 or self._loop is not None:
            return

        async def loop() -> None:
            while True:
                await self._clock.sleep_until(self._clock.now() + every_seconds)
                for user_id in live_users():
                    await self._quietly(user_id)

        self._loop = asyncio.create_task(loop(), name="imql-tencent-reconcile-loop")

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _quietly(self, user_id: str) -> None:
        try:
            brought = await self.user(user_id)
            if brought:
                log.info("reconciliation brought %d message(s) for %s that webhooks did not", brought, user_id)
        except Exception:  # Tencent unreachable or refusing: the next coming-online tries again
            log.warning("reconciliation of %s failed", user_id, exc_info=True)

    async def user(self, user_id: str) -> int:
        """Reconcile one user's C2C conversations and groups; how many messages the mirror lacked."""
        return await self._c2c(user_id) + await self._groups.user(user_id)

    async def _c2c(self, user_id: str) -> int:
        synced_key = self._keys.tencent_synced(user_id)
        marks = {str(k): int(v) for k, v in (await self._redis.hgetall(synced_key)).items()}
        # when the user's last pass began ("" is no userID): a conversation new since then is news
        user_since = marks.pop(USER_MARK, None)
        started = int(self._clock.now())
        brought = 0
        for peer, last_time in await self._changed_conversations(user_id, marks):
            since = marks.get(peer)
            if since is not None:
                brought += await self._conversation(user_id, peer, since, last_time, live=True)
            elif user_since is not None:  # a conversation that began after the user's last pass
                since = max(0, user_since - SAME_SECOND_SLACK_SECONDS)
                brought += await self._conversation(user_id, peer, since, last_time, live=True)
            else:  # the user's first pass: their history, not news
                brought += await self._conversation(
                    user_id, peer, max(0, last_time - FIRST_SYNC_SECONDS), last_time, live=False
                )
            await self._redis.hset(synced_key, peer, last_time)
        await self._redis.hset(synced_key, USER_MARK, started)
        return brought

    async def _changed_conversations(self, user_id: str, marks: dict[str, int]) -> list[tuple[str, int]]:
        cursor = {"TimeStamp": 0, "StartIndex": 0, "TopTimeStamp": 0, "TopStartIndex": 0}
        changed: list[tuple[str, int]] = []
        for _ in range(LIST_PAGES_MAX):
            answer = await self._client.call(
                "recentcontact/get_list", {"From_Account": user_id, **cursor, "AssistFlags": 0}, idempotent=True
            )
            for item in answer.result_items("SessionItem") if answer.get("SessionItem") else []:
                peer, msg_time = item.get("To_Account"), item.get("MsgTime")
                if item.get("Type") != C2C or not isinstance(peer, str) or not isinstance(msg_time, int):
                    continue
                mark = marks.get(peer, -1)
                recent = msg_time == mark and msg_time >= self._clock.now() - SAME_SECOND_SLACK_SECONDS
                if msg_time > mark or recent:
                    changed.append((peer, msg_time))
            if answer.get("CompleteFlag", 1) == 1:
                break
            cursor = {name: int(answer.get(name, 0)) for name in cursor}
        return changed

    async def _conversation(self, user_id: str, peer: str, min_time: int, max_time: int, *, live: bool) -> int:
        """Read [min_time, max_time] of one conversation back, newest page first, and apply what
        the mirror lacks oldest first (so the mirror's order is Tencent's)."""
        body: dict[str, Any] = {
            "Operator_Account": user_id,
            "Peer_Account": peer,
            "MaxCnt": ROAM_PAGE,
            "MinTime": min_time,
            "MaxTime": max_time,
        }
        found: list[dict[str, Any]] = []
        for _ in range(ROAM_PAGES_MAX):
            answer = await self._client.call("openim/admin_getroammsg", body, idempotent=True)
            found = answer.result_items("MsgList") + found if answer.get("MsgList") else found
            last_key, last_time = answer.get("LastMsgKey"), answer.get("LastMsgTime")
            if answer.get("Complete", 1) == 1 or not isinstance(last_key, str) or not isinstance(last_time, int):
                break
            if not live and len(found) >= FIRST_SYNC_MESSAGES:
                break
            body = {**body, "MaxTime": last_time, "LastMsgKey": last_key}
        if not live:
            found = found[-FIRST_SYNC_MESSAGES:]
        brought = 0
        for msg in sorted(found, key=lambda m: (int(m.get("MsgTimeStamp", 0)), int(m.get("MsgSeq", 0)))):
            sender, receiver, key = msg.get("From_Account"), msg.get("To_Account"), msg.get("MsgKey")
            if not isinstance(sender, str) or not isinstance(receiver, str) or not isinstance(key, str):
                continue
            brought += await apply_c2c_message(
                self._mirror,
                sender=sender,
                receiver=receiver,
                random=int(msg.get("MsgRandom", 0)),
                timestamp=int(msg.get("MsgTimeStamp", 0)),
                key=key,
                msg_body=list(msg.get("MsgBody") or []),
                cloud_custom_data=str(msg.get("CloudCustomData") or ""),
                online_only=False,
                live=live,
            )
        return brought
