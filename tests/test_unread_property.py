"""Property: after any sequence of sends, reads, clears, deletions and receive-option changes, every
unread figure (each conversation, the total) equals a recount, on every device of both users.

Two users with three devices each, a C2C conversation and a small group between them. Each device
runs a real conversationListener subscription; the latest unreadCount and total it was told must
equal the model's recount after every step, and so must the queries and the one-to-one total of the
unread index (gateway.engine.unread_index)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.im.conversations import Conversation
from gateway.im.enums import ElemType, GroupType, MessageOpt
from gateway.im.events import OnConversationChanged, OnNewConversation, OnTotalUnreadMessageCountChanged
from gateway.im.messages import Content, SendOptions, TextElem
from gateway.keys import Keys
from gateway.services import Gateway
from gateway.session.im_session import IMSession
from gateway.session.pool import Session
from tests.conftest import REDIS_URL, SECRET
from tests.support.engine import embedded

USERS = ("ann", "ben")
RECEIVE, NOT_RECEIVE, NO_NOTIFY = 0, 1, 2


def other(user: str) -> str:
    return "ben" if user == "ann" else "ann"


@dataclass
class Model:
    """The truth, recounted from what happened: per user, per conversation, the countable messages."""

    group: str = ""
    unread: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (user, conv) → msgIDs
    opts: dict[tuple[str, str], int] = field(default_factory=dict)
    deleted: set[tuple[str, str]] = field(default_factory=set)

    def conv(self, user: str, kind: str) -> str:
        return f"c2c_{other(user)}" if kind == "c2c" else f"group_{self.group}"

    def count(self, user: str, conv: str) -> int:
        if conv.startswith("group_") and self.opts.get((user, conv), RECEIVE) == NOT_RECEIVE:
            return 0
        return len(self.unread.get((user, conv), []))

    def total(self, user: str) -> int:
        return sum(
            self.count(user, conv)
            for (u, conv) in list(self.unread)
            if u == user and self.opts.get((user, conv), RECEIVE) == RECEIVE and (user, conv) not in self.deleted
        )


class Device:
    def __init__(self, session: IMSession) -> None:
        self.unread: dict[str, int] = {}
        self.total = 0
        self._gen = session.listen("conversationListener", None)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for delivery in self._gen:
            event = delivery.event
            if isinstance(event, OnNewConversation | OnConversationChanged):
                for c in event.conversationList:
                    self.unread[c.conversationID] = c.unreadCount
            elif isinstance(event, OnTotalUnreadMessageCountChanged):
                self.total = event.totalUnreadCount

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["send", "send", "send", "read", "clear", "delete_conv", "delete_msg", "opt"]),
        st.sampled_from(USERS),
        st.sampled_from(["c2c", "group"]),
        st.sampled_from([RECEIVE, NOT_RECEIVE, NO_NOTIFY]),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(actions=[("send", "ann", "c2c", 0), ("opt", "ben", "c2c", 1)], seed=0)
@example(actions=[("send", "ann", "c2c", 0), ("send", "ann", "c2c", 0), ("opt", "ben", "c2c", 2)], seed=0)
@given(actions=ACTIONS, seed=st.integers(0, 1000))
async def test_unread_figures_always_equal_a_recount(actions: Sequence[tuple[str, str, str, int]], seed: int) -> None:
    app = random.randint(2_000_000_000, 2_100_000_000)
    clock = ManualClock()
    gw = Gateway.build(
        Settings(sdkappid=app, secret_key=SECRET, redis_url=REDIS_URL, rate_limit_per_second=0), clock=clock
    )
    await gw.start()
    devices: dict[str, list[Device]] = {}
    try:
        for u in USERS:
            await gw.backend.accounts.ensure_account(u)
        model = Model()
        model.group = await gw.backend.groups.create_group("ann", GroupType.V2TIM_GROUP_TYPE_MEETING, None, "g")
        await gw.backend.groups.join_group("ben", model.group, "")
        sessions = {
            u: [
                IMSession(
                    gw.session_services,
                    Session(user_id=u, session_id=f"{u}{i}", platform=f"p{i}", expires_at=2**40, token="t"),
                )
                for i in range(3)
            ]
            for u in USERS
        }
        devices = {u: [Device(s) for s in sessions[u]] for u in USERS}
        await asyncio.sleep(0.2)
        rng = random.Random(seed)
        for action, user, kind, opt in actions:
            await clock.advance(1)  # every step happens at a later millisecond
            await apply(gw, model, sessions[user][0], action, user, kind, opt, rng)
            await check(gw, model, devices)
    finally:
        for ds in devices.values():
            for d in ds:
                await d.stop()
        await gw.close()
        client = redis.Redis.from_url(REDIS_URL)
        for pattern in Keys(app).scan_patterns():
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
        client.close()


async def apply(
    gw: Gateway, model: Model, session: IMSession, action: str, user: str, kind: str, opt: int, rng: random.Random
) -> None:
    conv = model.conv(user, kind)
    peer = other(user)
    engine = gw.backend.messages
    if action == "send":
        created = await engine.create_message(
            user, Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="m"))
        )
        if kind == "c2c":
            sent = await engine.send_c2c_message(user, session.session_id, created.id, peer, SendOptions())
            their_conv = f"c2c_{user}"
            if model.opts.get((peer, their_conv), RECEIVE) != NOT_RECEIVE:
                model.unread.setdefault((peer, their_conv), []).append(sent.msgID)
            model.deleted.discard((peer, their_conv))
            model.deleted.discard((user, conv))
        else:
            sent = await engine.send_group_message(user, session.session_id, created.id, model.group, SendOptions())
            model.unread.setdefault((peer, conv), []).append(sent.msgID)
            model.unread[(user, conv)] = []  # sending reads the group for the sender
            model.deleted.discard((peer, conv))
            model.deleted.discard((user, conv))
    elif action == "read":
        if kind == "c2c":
            await engine.mark_c2c_message_as_read(user, peer)
        else:
            await engine.mark_group_message_as_read(user, model.group)
        model.unread[(user, conv)] = []
    elif action == "clear":
        if kind == "c2c":
            await engine.clear_c2c_history_message(user, peer)
        else:
            await engine.clear_group_history_message(user, model.group)
        model.unread[(user, conv)] = []
    elif action == "delete_conv":
        await gw.backend.conversations.delete_conversation_list(user, [conv], False)
        model.unread[(user, conv)] = []
        model.deleted.add((user, conv))
    elif action == "delete_msg":
        pending = model.unread.get((user, conv), [])
        if pending:
            victim = rng.choice(pending)
            await engine.delete_message_from_local_storage(user, victim)
            pending.remove(victim)
    elif action == "opt":
        opt_enum = MessageOpt(opt)
        if kind == "c2c":
            await engine.set_c2c_receive_message_opt(user, [peer], opt_enum)
        else:
            previous = model.opts.get((user, conv), RECEIVE)
            await engine.set_group_receive_message_opt(user, model.group, opt_enum)
            if previous == NOT_RECEIVE and opt != NOT_RECEIVE:
                model.unread[(user, conv)] = []  # what arrived meanwhile was never received
        model.opts[(user, conv)] = opt


async def check(gw: Gateway, model: Model, devices: dict[str, list[Device]]) -> None:
    expected_devices: list[tuple[Device, str, int]] = []
    expected_totals: list[tuple[Device, int]] = []
    for user in USERS:
        listing = await gw.backend.conversations.get_conversation_list(user, "", 100)
        seen: dict[str, Conversation] = {c.conversationID: c for c in listing.conversationList}
        for kind in ("c2c", "group"):
            conv = model.conv(user, kind)
            want = model.count(user, conv)
            if (user, conv) in model.deleted:
                assert conv not in seen, (user, conv)
            elif conv in seen:
                assert seen[conv].unreadCount == want, (user, conv, seen[conv].unreadCount, want)
                expected_devices += [(d, conv, want) for d in devices[user]]
        total = await embedded(gw.backend).conversations.unread_total(user)
        assert total == model.total(user), (user, total, model.total(user))
        # the one-to-one total callbacks carry (UnreadMsgNum), from the unread index
        c2c = model.conv(user, "c2c")
        counted = model.opts.get((user, c2c), RECEIVE) == RECEIVE and (user, c2c) not in model.deleted
        c2c_total = (await embedded(gw.backend).messages.core.unread_index.totals([user]))[user]
        assert c2c_total == (model.count(user, c2c) if counted else 0), (user, c2c_total)
        expected_totals += [(d, total) for d in devices[user]]

    def settled() -> bool:
        # a device knows a conversation once an event told it of one (not before it subscribed)
        return all(d.unread.get(conv, want) == want for d, conv, want in expected_devices) and all(
            d.total == total for d, total in expected_totals
        )

    for _ in range(100):  # events arrive within milliseconds; allow for a loaded machine
        if settled():
            return
        await asyncio.sleep(0.02)
    for d, conv, want in expected_devices:
        assert d.unread.get(conv, want) == want, (conv, "device", d.unread.get(conv), want)
    for d, total in expected_totals:
        assert d.total == total, ("device total", d.total, total)
