"""Which hash slots, and how many Redis commands, each operation touches on a Redis Cluster.

Every unit of work the gateway sends goes through one fenced place, the cluster client's observer
(gateway.lean.cluster): single commands, pipelines (plain and ordered), transactions. Each
operation below runs alone on the local cluster; its units are checked and its footprint compared
with the table (docs/scaling.md's capacity model is built from it):
- every atomic unit (a MULTI/EXEC transaction, a Lua script, a multi-key command) names keys of one
  slot: Redis Cluster would refuse it otherwise, and this test names the operation and the unit;
- the set of hash tags it touches is exactly the expected one ("u:<user>" a user's, "g:<group>" a
  group's, "c:<a>|<b>" a C2C timeline, "app" the app-wide keys): a change that adds a cross-slot
  step fails here until the table and docs/scaling.md say why it is safe;
- it sends at most its budget of commands (the count measured when the table was written).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.events.bus import APPEND_SCRIPT
from gateway.im.enums import AllowType, FriendAccept, FriendAddType, GroupMemberRole, GroupType
from gateway.im.messages import SendOptions
from gateway.im.model import ProfileChanges
from gateway.lean.cluster import ImqlCluster
from gateway.services import Gateway
from gateway.v4.callbacks import AFTER_COMMANDS
from tests.contract.conftest import USERS, Device, send_group_text, send_text, text
from tests.support.engine import embedded
from tests.support.redis_cluster import RedisCluster

BOTH = FriendAddType.V2TIM_FRIEND_TYPE_BOTH
MEETING = GroupType.V2TIM_GROUP_TYPE_MEETING
ADMIN = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN
# commands whose several keys Redis runs as one (they must share a slot)
MULTI_KEY = {"EVAL", "EVALSHA", "RENAME", "SMOVE", "SINTERSTORE", "SUNIONSTORE", "ZUNIONSTORE", "ZINTERSTORE"}
_TAG = re.compile(r"\{(\d+)(?::([ugc]):([^}]*))?\}")


@dataclass
class Footprint:
    units: list[tuple[str, list[tuple[Any, ...]]]] = field(default_factory=list)

    @property
    def commands(self) -> int:
        return sum(len(commands) for _, commands in self.units)


_operation: contextvars.ContextVar[Footprint | None] = contextvars.ContextVar("audited_operation", default=None)


def tag_of(key: str) -> str:
    """A key's hash tag as the table names it."""
    found = _TAG.search(key)
    assert found is not None, f"a key without imql's hash tag: {key!r}"
    kind, who = found.group(2), found.group(3)
    return "app" if kind is None else f"{kind}:{who}"


@dataclass
class Audit:
    gw: Gateway
    cluster: ImqlCluster
    plain_publishes: list[str] = field(default_factory=list)

    async def keys_of(self, args: tuple[Any, ...]) -> list[str]:
        if str(args[0]).upper() in ("EVAL", "EVALSHA"):
            return [str(k) for k in args[3 : 3 + int(args[2])]]
        found = await self.cluster.commands_parser.get_keys(*args)
        return [k if isinstance(k, str) else k.decode() for k in found or []]

    async def check(self, name: str, footprint: Footprint) -> tuple[set[str], int]:
        """The operation's hash tags and command count, after checking each atomic unit's slots."""
        tags: set[str] = set()
        for kind, commands in footprint.units:
            unit_slots: set[int] = set()
            for args in commands:
                if str(args[0]).upper() == "PUBLISH" or (
                    args[0] == "EVAL" and args[1] == APPEND_SCRIPT and args[5] != "SPUBLISH"
                ):
                    self.plain_publishes.append(f"{name}: {args}")
                keys = await self.keys_of(args)
                tags.update(tag_of(k) for k in keys)
                slots = {self.cluster.keyslot(k) for k in keys}
                if str(args[0]).upper() in MULTI_KEY or " " in str(args[0]):
                    assert len(slots) <= 1, f"{name}: {args[0]} spans slots {slots}: {args}"
                unit_slots |= slots
            if kind == "transaction":
                assert len(unit_slots) <= 1, f"{name}: a transaction spans slots {unit_slots}: {commands}"
        return tags, footprint.commands


@pytest.fixture
async def audit(redis_cluster: RedisCluster, settings: Settings) -> AsyncIterator[Audit]:
    async with _audited(redis_cluster, settings) as running:
        yield running


@contextlib.asynccontextmanager
async def _audited(redis_cluster: RedisCluster, settings: Settings) -> AsyncIterator[Audit]:
    gw = Gateway.build(
        dataclasses.replace(settings, redis_url=redis_cluster.url, redis_cluster=True), clock=ManualClock()
    )
    cluster = gw.redis
    assert isinstance(cluster, ImqlCluster)

    def observe(kind: str, commands: list[tuple[Any, ...]]) -> None:
        footprint = _operation.get()
        if footprint is not None:
            footprint.units.append((kind, commands))

    cluster.observer = observe
    await gw.start()
    try:
        for user in USERS:
            await gw.backend.accounts.ensure_account(user)
        yield Audit(gw, cluster)
    finally:
        await gw.close()


# operation -> (the hash tags it touches, the commands it sent when this table was written).
# `A`, `B`, `C`: alice's, bob's and carol's user slots; `AB` their C2C timeline; `G` the group "club";
# `APP` the app-wide keys (group activity, presence index, signaling deadlines). Sends include
# their events (stream entry and poke per receiving stream; its TTL once an hour). The reads of a send's views and
# checks are pipelined: one round trip however many slots they name. A view reads a user's read
# mark only for messages others sent (isRead) and the peer's only for their own (isPeerRead), and
# friend remarks of others only: bob's page of alice's messages no longer reads alice's slot, and a
# C2C send reads the receiver's mark once for both views; a send lifts a conversation's deletion mark only when the
# conversation was not announced (counts lowered with that change). An event's stream TTL is
# refreshed once an hour per process, not per event (gateway.events.bus): a stream's first event
# in this run still sends its EXPIRE ("send C2C (first)"), later ones do not (counts lowered). An
# event's append is one EVAL (gateway.events.bus.APPEND_SCRIPT: XREVRANGE, XADD and SPUBLISH inside,
# which INFO commandstats counts as 4) where it was an XADD and a SPUBLISH (counts lowered by one per
# stream written).
A, B, C = "u:alice", "u:bob", "u:carol"
AB, G, APP = "c:alice|bob", "g:club", "app"
TABLE: dict[str, tuple[set[str], int]] = {
    # one EVALSHA; 3 when its script is loaded on first use (NOSCRIPT, SCRIPT LOAD, EVALSHA again)
    "create message": ({A}, 3),
    "send C2C (first)": ({A, B, AB}, 29),
    "send C2C": ({A, B, AB}, 21),
    # sendTextMessage: no draft to write, read, claim or delete (the two rows above include the
    # create); an idempotency key adds its claim: HMGET, HSETNX, EXPIRE and the done mark
    "send C2C in one request": ({A, B, AB}, 17),
    "send C2C in one request (keyed)": ({A, B, AB}, 21),
    "C2C history page": ({B, AB}, 7),
    "mark C2C read": ({A, B, AB}, 32),
    "conversation list": ({A, B, AB}, 20),
    "pin conversation": ({A, B, AB}, 35),
    "add friend (allow any, both)": ({A, B}, 13),
    "add friend (request)": ({A, C}, 13),
    "accept friend request": ({A, C}, 18),
    "create group": ({A, G, APP}, 47),
    "join group": ({B, G, APP}, 53),
    "send group": ({A, G, APP}, 21),
    "send group in one request": ({A, G, APP}, 17),
    "mark group read": ({B, G, APP}, 32),
    # the group's type read, then its turn (SET NX; a release script: EVAL, GET, DEL): outside a
    # live room a quit is one at a time with the writes of members' records
    "quit group": ({B, G, APP}, 29),
    "signaling invite": ({A, B, AB, APP}, 21),
    "open a subscription (6 listeners)": ({B, AB, G, APP}, 50),
    # the callback worker's count of alice's and bob's one-to-one unread (gateway.engine.unread_index):
    # first building their indexes, then a script per user (and a ZCOUNT per unread conversation:
    # none here, bob has read alice's)
    "count UnreadMsgNum (first: builds)": ({A, B, AB}, 15),
    "count UnreadMsgNum": ({A, B}, 2),
}
# Command counts may drift with unrelated work (a new field read in a view); a fifth more than the
# table fails, which a new cross-slot step, a per-member loop or a lost pipeline would.
SLACK = 1.2


async def _measure(audit: Audit) -> dict[str, tuple[set[str], int]]:
    b = audit.gw.backend
    results: dict[str, tuple[set[str], int]] = {}
    opts = SendOptions()

    async def step(name: str, call: Callable[[], Awaitable[Any]]) -> Any:
        footprint = Footprint()
        token = _operation.set(footprint)
        try:
            value = await call()
        finally:
            _operation.reset(token)
        results[name] = await audit.check(name, footprint)
        return value

    await step("create message", lambda: b.messages.create_message("alice", text("hi")))
    await step("send C2C (first)", lambda: send_text(b, "alice", "bob", "hello"))
    await step("send C2C", lambda: send_text(b, "alice", "bob", "again"))
    await step(
        "send C2C in one request", lambda: b.messages.send_c2c_content("alice", "s-send", text("one"), "bob", opts)
    )
    await step(
        "send C2C in one request (keyed)",
        lambda: b.messages.send_c2c_content("alice", "s-send", text("one"), "bob", opts, idempotency_key="k"),
    )
    await step("C2C history page", lambda: b.messages.get_c2c_history_message_list("bob", "alice", 20))
    await step("mark C2C read", lambda: b.messages.mark_c2c_message_as_read("bob", "alice"))
    await step("conversation list", lambda: b.conversations.get_conversation_list("bob", "0", 20))
    await step("pin conversation", lambda: b.conversations.pin_conversation("bob", "c2c_alice", True))
    await step("add friend (allow any, both)", lambda: b.friendship.add_friend("alice", "bob", BOTH))
    await b.accounts.set_self_info("carol", ProfileChanges(allowType=AllowType.V2TIM_FRIEND_NEED_CONFIRM))
    await step("add friend (request)", lambda: b.friendship.add_friend("alice", "carol", BOTH))
    accept = FriendAccept.V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD
    await step("accept friend request", lambda: b.friendship.accept_friend_application("carol", "alice", accept))
    gid = await step("create group", lambda: b.groups.create_group("alice", MEETING, "club", "club"))
    await step("join group", lambda: b.groups.join_group("bob", gid, "hi"))
    await step("send group", lambda: send_group_text(b, "alice", gid, "to all"))
    await step(
        "send group in one request", lambda: b.messages.send_group_content("alice", "s-send", text("one"), gid, opts)
    )
    await step("mark group read", lambda: b.messages.mark_group_message_as_read("bob", gid))
    await step("quit group", lambda: b.groups.quit_group("bob", gid))
    await step("signaling invite", lambda: b.signaling.invite("alice", "s-alice", "bob", "{}", 30))
    unread = embedded(b).messages.core.unread_index
    await step("count UnreadMsgNum (first: builds)", lambda: unread.totals(["alice", "bob"]))
    await step("count UnreadMsgNum", lambda: unread.totals(["alice", "bob"]))
    device = Device(audit.gw, "bob", "bob-audit")
    await step("open a subscription (6 listeners)", device.open)
    await device.close()
    return results


async def test_each_operation_touches_the_slots_and_commands_of_its_table(audit: Audit) -> None:
    measured = await _measure(audit)
    assert set(measured) == set(TABLE)
    assert not audit.plain_publishes, f"PUBLISH (copied to every node) where SPUBLISH belongs: {audit.plain_publishes}"
    wrong = []
    for name, (tags, commands) in measured.items():
        want_tags, want_commands = TABLE[name]
        if tags != want_tags or commands > want_commands * SLACK:
            wrong.append(
                f"{name}: {sorted(tags)} in {commands} commands; the table says {sorted(want_tags)} in {want_commands}"
            )
    assert not wrong, "\n".join(wrong)


@pytest.fixture
def callbacks_on(settings: Settings) -> Settings:
    """The app's after-callbacks on, to an endpoint nobody listens on: they are queued (app-wide,
    on their own slot) whether or not they can be delivered."""
    return dataclasses.replace(
        settings, callback_url="http://127.0.0.1:9/imql-callback", callback_commands=frozenset(AFTER_COMMANDS)
    )


async def test_writes_with_after_callbacks_queue_them_outside_their_transactions(
    redis_cluster: RedisCluster, callbacks_on: Settings
) -> None:
    """A transaction of a group's or a message's keys once held the callback queue's XADD too:
    CROSSSLOT on a cluster. Each is a transaction (or a script) on its own slot now, the callback
    queued after it."""
    async with _audited(redis_cluster, callbacks_on) as audit:
        b = audit.gw.backend
        gid = await b.groups.create_group("alice", MEETING, "club", "club")
        await b.groups.join_group("bob", gid, "hi")
        sent = await send_text(b, "alice", "bob", "to edit")
        checks: dict[str, Callable[[], Awaitable[Any]]] = {
            "set member role": lambda: b.groups.set_group_member_role("alice", gid, "bob", ADMIN),
            "set group attributes": lambda: b.groups.set_group_attributes("alice", gid, {"k": "v"}),
            "modify message": lambda: b.messages.modify_message("alice", "s", sent.msgID, text("edited"), None),
            "transfer owner": lambda: b.groups.transfer_group_owner("alice", gid, "bob"),
        }
        for name, call in checks.items():
            footprint = Footprint()
            token = _operation.set(footprint)
            try:
                await call()
            finally:
                _operation.reset(token)
            tags, _ = await audit.check(name, footprint)
            # a member's role and an ownership's transfer are one script (`_WRITE_MEMBERS`, which
            # checks them still members), the others a transaction: either on one slot (`check`)
            atomic = [
                commands
                for kind, commands in footprint.units
                if kind == "transaction"
                or any(str(c[0]).upper() in ("EVAL", "EVALSHA") and int(c[2]) > 1 for c in commands)
            ]
            assert atomic, f"{name}: no transaction or script of several keys observed"
            assert APP in tags, f"{name}: its after-callback was not queued"
