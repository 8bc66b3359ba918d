"""A load soak (issue 19): N users sending to each other and reading through two `imql serve`
replicas while Redis (AOF) is restarted once; then a consistency checker proves every acknowledged
message is in history exactly once with increasing seqs (a gap only where a send attempt failed),
every unread count equals a recount of the conversation's unread messages (and the total their
sum), and every user's listener got every message addressed to it exactly once, resuming with
`since` across its drops.

Bounded: IMQL_SOAK=ci (the default: 6 users, 12 s of traffic, well under a minute in all) or
`long` (30 users, 3 minutes); IMQL_SOAK_USERS / IMQL_SOAK_SECONDS override either."""

from __future__ import annotations

import asyncio
import os
import random
import time

import pytest

from tests.support.traffic import HANG_MARGIN, REQUEST_TIMEOUT, rig

pytestmark = [pytest.mark.e2e, pytest.mark.soak]

SIZE = os.environ.get("IMQL_SOAK", "ci")
assert SIZE in ("ci", "long"), f"IMQL_SOAK={SIZE}: ci or long"
USERS = int(os.environ.get("IMQL_SOAK_USERS") or (6 if SIZE == "ci" else 30))
SECONDS = float(os.environ.get("IMQL_SOAK_SECONDS") or (12 if SIZE == "ci" else 180))
READ = "mutation($u: String!) { markC2CMessageAsRead(userID: $u) }"


@pytest.mark.timeout(0 if SIZE == "long" else 120)
async def test_soak_two_replicas_and_a_redis_restart(tmp_path: object) -> None:
    chance = random.Random(19)
    async with rig(tmp_path, replicas=2) as r:
        users = [f"u{n:02d}" for n in range(USERS)]
        for user in users:
            await r.add_user(user)
        stop = asyncio.Event()
        reads = {"ok": 0, "failed": 0}

        async def user_loop(user: str) -> None:
            while not stop.is_set():
                if chance.random() < 0.2:  # now and then, read a conversation
                    reply = await r.cluster.gql(READ, {"u": chance.choice(users)}, r.tokens[user])
                    reads["ok" if reply is not None and not reply.errors else "failed"] += 1
                else:
                    await r.senders[user].send(chance.choice([u for u in users if u != user]))
                await asyncio.sleep(chance.uniform(0.01, 0.1))

        async def restart_once() -> None:
            await asyncio.sleep(SECONDS / 3)
            r.redis.stop()
            await asyncio.sleep(1)
            r.redis.start()

        loops = [asyncio.create_task(user_loop(u)) for u in users]
        restart = asyncio.create_task(restart_once())
        began = time.monotonic()
        try:
            await asyncio.sleep(SECONDS)
        finally:
            stop.set()
            await asyncio.gather(*loops, restart)
        # one more message to each user; when it is in, everything before it is (per-stream order)
        for n, user in enumerate(users):
            acked = await r.senders[users[n - 1]].send(user)
            await r.followers[user].wait_for(acked.msg_id, timeout=30)
        figures = await r.check()
        sent = sum(len(s.acked) for s in r.senders.values())
        print(  # the soak's figures, for a reader of -s output
            f"soak: {USERS} users, {time.monotonic() - began:.0f} s, {sent} messages acknowledged, "
            f"{figures['conversations']} conversations, reads {reads}, "
            f"resumes {sum(f.resumes for f in r.followers.values())}, outcomes {dict(r.recorder.outcomes)}"
        )
        assert figures["messages"] == sent
        assert sent >= USERS * 5
        assert r.recorder.longest < REQUEST_TIMEOUT + HANG_MARGIN


async def test_is_read_within_the_second_of_a_read(tmp_path: object) -> None:
    """A message sent in the same second as a read, after it, is unread both ways: isRead false and
    counted (isRead once compared whole seconds while unread counts compared milliseconds)."""
    from tests.support.traffic import history

    async with rig(tmp_path) as r:
        for user in ("a", "b"):
            await r.add_user(user)
        await r.senders["a"].send("b")
        await asyncio.sleep(1.05 - time.time() % 1)  # just past a second's start: read and send share it
        reply = await r.cluster.gql(READ, {"u": "a"}, r.tokens["b"])
        assert reply is not None
        assert not reply.errors
        await r.senders["a"].send("b")
        stored = await history(r.cluster, r.tokens["b"], "a")
        doc = 'query { getConversation(conversationID: "c2c_a") { unreadCount } }'
        counted = await r.cluster.gql(doc, {}, r.tokens["b"])
        assert counted is not None
        assert [m["isRead"] for m in stored] == [True, False]
        assert counted.ok()["getConversation"]["unreadCount"] == 1
