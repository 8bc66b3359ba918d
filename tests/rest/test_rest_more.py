"""REST v4 over real HTTP: `group_open_http_svc/{import_group_msg, delete_group_msg_by_sender,
clear_group_msg}` and `all_member_push/im_push`, with the users' real subscriptions: golden shapes,
what members see afterwards (and that they hear nothing where Tencent tells nobody), and bad input
that answers Tencent's code and changes nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, cast

import msgspec
import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine import all_member_push
from gateway.engine.all_member_push import PushSpec, PushTask
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.push.planner import decode_job
from gateway.im.enums import ElemType
from gateway.im.messages import Content
from tests.conftest import SECRET
from tests.rest.conftest import RestClient
from tests.rest.test_group_messages import CHANGE_EVENTS, CONV_EVENTS, HISTORY, Room, last_seq, send, text
from tests.support.clients import HTTPClient
from tests.support.groups import GROUP_EVENTS, MSG_EVENTS, Member, member
from tests.support.servers import InProcessGateway

IMPORT = "group_open_http_svc/import_group_msg"
PUSH = "all_member_push/im_push"
DELETE_BY_SENDER = "group_open_http_svc/delete_group_msg_by_sender"
CLEAR = "group_open_http_svc/clear_group_msg"


@pytest.fixture
def settings(sdkappid: int, redis_url: str, redis_is_cluster: bool, tmp_path: Path) -> Settings:
    """Offline pushes on with no worker to deliver them: what a send queues stays in the app's push
    queue for the tests to read."""
    return Settings(
        sdkappid=sdkappid,
        secret_key=SECRET,
        redis_url=redis_url,
        redis_cluster=redis_is_cluster,
        rate_limit_per_second=0,
        data_dir=tmp_path,
        push_webhook_url="http://127.0.0.1:9/never-called",
    )


@pytest.fixture
async def room(client: HTTPClient, server: InProcessGateway) -> Room:
    """A Meeting group of olive (owner), mike and nora, each watching messages and conversations."""
    members = (
        await member(client, server, "olive"),
        await member(client, server, "mike"),
        await member(client, server, "nora"),
    )
    gid = await members[0].create("Meeting")
    for m in members[1:]:
        await m.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    conv_ops = [await m.ws.subscribe(CONV_EVENTS) for m in members]
    change_ops = [await m.ws.subscribe(CHANGE_EVENTS) for m in members]
    r = Room(gid, members, conv_ops, change_ops)
    await r.drain()
    return r


async def heard_nothing(room: Room) -> None:
    """No member heard of anything: no message, change or conversation event."""
    heard = await asyncio.gather(
        *(drain for m in room.members for drain in (m.drain(m.msgs_op), room.conversations(m), room.changes(m)))
    )
    assert heard == [[]] * len(heard)


async def conversation(m: Any, gid: str) -> dict[str, Any]:
    found = await m.q(
        f'{{ getConversation(conversationID: "group_{gid}") {{ unreadCount lastMessage {{ msgID seq status }} }} }}'
    )
    conv: dict[str, Any] = found["getConversation"]
    return conv


async def sdk_history(m: Any, gid: str, count: int = 20) -> list[dict[str, Any]]:
    found = await m.q(
        f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: {count}) {{ msgID seq sender status timestamp '
        "textElem { text } } }"
    )
    history: list[dict[str, Any]] = found["getGroupHistoryMessageList"]
    return history


async def admin_history(rest: RestClient, gid: str, **extra: Any) -> list[dict[str, Any]]:
    answer = await rest.ok(HISTORY, {"GroupId": gid, "ReqMsgNumber": 20, **extra})
    items: list[dict[str, Any]] = answer["RspMsgList"]
    return items


# ---- import_group_msg -----------------------------------------------------------------------------
def imported(sender: str, at: int, t: str, **extra: Any) -> dict[str, Any]:
    return {"From_Account": sender, "SendTime": at, "MsgBody": text(t), **extra}


async def test_import_golden_shapes_and_silence(rest: RestClient, room: Room, clock: ManualClock) -> None:
    created = int(clock.now())
    await clock.advance(100)
    before = await last_seq(rest, room.gid)
    unread_before = (await conversation(room.nora, room.gid))["unreadCount"]
    # FIXTURES-shaped request (the doc's sample, each message one element: imql messages carry one)
    body = {
        "GroupId": room.gid,
        "RecentContactFlag": 1,
        "MsgList": [
            imported("olive", created + 10, "red packet", Random=8912345),
            imported("mike", created + 20, "red packet"),
        ],
    }
    answer = await rest.ok(IMPORT, body)
    assert set(answer) == {"ActionStatus", "ErrorInfo", "ErrorCode", "ImportMsgResult"}
    assert answer["ImportMsgResult"] == [
        {"MsgSeq": before + 1, "MsgTime": created + 10, "Result": 0},
        {"MsgSeq": before + 2, "MsgTime": created + 20, "Result": 0},
    ]
    # no listener event, no unread; stored with its own senders, times and Random
    await heard_nothing(room)
    history = await sdk_history(room.nora, room.gid, 2)
    assert [(h["seq"], h["sender"], h["timestamp"]) for h in history] == [
        (before + 2, "mike", created + 20),
        (before + 1, "olive", created + 10),
    ]
    conv = await conversation(room.nora, room.gid)
    assert conv["unreadCount"] == unread_before
    # RecentContactFlag 1: the newest imported message is the conversation's last message
    assert conv["lastMessage"]["seq"] == before + 2
    admin = await admin_history(rest, room.gid, ReqMsgNumber=2)
    assert [(h["MsgSeq"], h["From_Account"], h["MsgTimeStamp"]) for h in admin] == [
        (before + 2, "mike", created + 20),
        (before + 1, "olive", created + 10),
    ]
    assert admin[1]["MsgRandom"] == 8912345


async def test_import_times_are_checked_per_message(rest: RestClient, room: Room, clock: ManualClock) -> None:
    created = int(clock.now())
    await clock.advance(100)
    now = int(clock.now())
    before = await last_seq(rest, room.gid)
    body = {
        "GroupId": room.gid,
        "MsgList": [
            imported("olive", created - 5, "before the group"),
            imported("olive", created + 30, "fine"),
            imported("mike", created + 20, "out of order"),
            imported("mike", now + 60, "in the future"),
            imported("nora", created + 40, "fine too"),
        ],
    }
    answer = await rest.ok(IMPORT, body)
    assert [(r["MsgSeq"], r["Result"]) for r in answer["ImportMsgResult"]] == [
        (0, 10004),
        (before + 1, 0),
        (0, 10004),
        (0, 10004),
        (before + 2, 0),
    ]
    # without RecentContactFlag the imported messages stay out of the conversation
    conv = await conversation(room.nora, room.gid)
    assert conv["lastMessage"] is None or conv["lastMessage"]["seq"] <= before
    # a later import must come after the group's newest message
    late = {"GroupId": room.gid, "MsgList": [imported("olive", created + 35, "too early now")]}
    assert (await rest.ok(IMPORT, late))["ImportMsgResult"][0]["Result"] == 10004
    assert await last_seq(rest, room.gid) == before + 2
    await heard_nothing(room)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"GroupId": None}, 10004),
        ({"MsgList": None}, 10004),
        ({"MsgList": "x"}, 10004),
        ({"MsgList": [imported("olive", 1, "x")] * 8}, 10004),  # at most 7 per call
        ({"MsgList": [{"From_Account": "olive", "MsgBody": text("no time")}]}, 10004),
        ({"MsgList": [imported("nobody", 1, "x")]}, 10004),
        ({"MsgList": [imported("olive", 1, "x", MsgBody=[])]}, 10004),
        ({"GroupId": "@TGS#missing"}, 10010),
    ],
)
async def test_import_bad_input_changes_nothing(
    rest: RestClient, room: Room, clock: ManualClock, change: dict[str, Any], code: int
) -> None:
    created = int(clock.now())
    await clock.advance(100)
    body: dict[str, Any] = {"GroupId": room.gid, "MsgList": [imported("olive", created + 10, "x")]}
    for name, value in change.items():
        if value is None:
            body.pop(name)
        else:
            body[name] = value
    before = await last_seq(rest, room.gid)
    await rest.fails(IMPORT, body, code)
    assert await last_seq(rest, room.gid) == before


async def test_import_refuses_live_rooms_and_community_recent_contact(
    rest: RestClient, room: Room, clock: ManualClock
) -> None:
    created = int(clock.now())
    live = await room.olive.create("AVChatRoom")
    community = await room.olive.create("Community")
    await clock.advance(100)
    body = {"MsgList": [imported("olive", created + 10, "x")]}
    await rest.fails(IMPORT, {"GroupId": live, **body}, 10007)
    await rest.fails(IMPORT, {"GroupId": community, "RecentContactFlag": 1, **body}, 10004)
    before = await last_seq(rest, community)
    assert (await rest.ok(IMPORT, {"GroupId": community, **body}))["ImportMsgResult"][0]["Result"] == 0
    assert await last_seq(rest, community) == before + 1


# ---- delete_group_msg_by_sender -------------------------------------------------------------------
async def test_delete_by_sender_is_a_silent_recall(rest: RestClient, room: Room) -> None:
    first = await send(rest, room.gid, "olive one", 1, From_Account="olive")
    mikes = await send(rest, room.gid, "mike one", 2, From_Account="mike")
    second = await send(rest, room.gid, "olive two", 3, From_Account="olive")
    await room.drain()
    assert (await conversation(room.nora, room.gid))["unreadCount"] == 3
    answer = await rest.ok(DELETE_BY_SENDER, {"GroupId": room.gid, "Sender_Account": "olive"})
    assert set(answer) == {"ActionStatus", "ErrorInfo", "ErrorCode"}
    # nobody is told (Tencent: "the client will not be notified")
    await heard_nothing(room)
    # the history shows them recalled; they no longer count as unread
    history = {h["seq"]: h for h in await sdk_history(room.nora, room.gid, 3)}
    assert history[first["MsgSeq"]]["status"] == history[second["MsgSeq"]]["status"] == "V2TIM_MSG_STATUS_LOCAL_REVOKED"
    assert history[mikes["MsgSeq"]]["status"] == "V2TIM_MSG_STATUS_SEND_SUCC"
    conv = await conversation(room.nora, room.gid)
    assert conv["unreadCount"] == 1
    assert conv["lastMessage"]["seq"] == second["MsgSeq"]
    assert conv["lastMessage"]["status"] == "V2TIM_MSG_STATUS_LOCAL_REVOKED"
    # the admin's history leaves them out, or shows them as recalled (IsPlaceMsg 2) when asked
    assert [h["MsgSeq"] for h in await admin_history(rest, room.gid, ReqMsgNumber=3)] == [mikes["MsgSeq"]]
    shown = await admin_history(rest, room.gid, ReqMsgNumber=3, WithRecalledMsg=1)
    assert [(h["MsgSeq"], h["IsPlaceMsg"]) for h in shown] == [
        (second["MsgSeq"], 2),
        (mikes["MsgSeq"], 0),
        (first["MsgSeq"], 2),
    ]
    # again: nothing left to recall, still OK; an account with no messages too
    await rest.ok(DELETE_BY_SENDER, {"GroupId": room.gid, "Sender_Account": "olive"})
    await rest.ok(DELETE_BY_SENDER, {"GroupId": room.gid, "Sender_Account": "nobody"})
    assert (await conversation(room.nora, room.gid))["unreadCount"] == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Sender_Account": "olive"}, 10004),
        ({"GroupId": "G"}, 10004),
        ({"GroupId": "G", "Sender_Account": 7}, 10004),
        ({"GroupId": "G", "Sender_Account": "olive", "TopicId": "@TGS#_other@TOPIC#_x"}, 10004),
        ({"GroupId": "@TGS#missing", "Sender_Account": "olive"}, 10010),
    ],
)
async def test_delete_by_sender_bad_input_changes_nothing(
    rest: RestClient, room: Room, body: dict[str, Any], code: int
) -> None:
    sent = await send(rest, room.gid, "stays", 1, From_Account="olive")
    body = {k: (room.gid if v == "G" else v) for k, v in body.items()}
    await rest.fails(DELETE_BY_SENDER, body, code)
    assert (await admin_history(rest, room.gid, ReqMsgNumber=1))[0]["MsgSeq"] == sent["MsgSeq"]


async def test_delete_by_sender_in_a_live_room_changes_nothing(rest: RestClient, room: Room) -> None:
    live = await room.olive.create("AVChatRoom")
    await rest.ok(DELETE_BY_SENDER, {"GroupId": live, "Sender_Account": "olive"})


# ---- clear_group_msg ------------------------------------------------------------------------------
async def test_clear_golden_and_members_view(rest: RestClient, room: Room) -> None:
    sent = [await send(rest, room.gid, f"m{i}", i, From_Account="mike") for i in range(1, 4)]
    await room.drain()
    assert (await conversation(room.nora, room.gid))["unreadCount"] == 3
    # FIXTURES B32: up to (and with) MsgSeq
    answer = await rest.ok(CLEAR, {"GroupId": room.gid, "MsgSeq": sent[1]["MsgSeq"]})
    assert set(answer) == {"ActionStatus", "ErrorInfo", "ErrorCode"}
    await heard_nothing(room)
    for m in room.members:
        seqs = [h["seq"] for h in await sdk_history(m, room.gid)]
        assert seqs == [sent[2]["MsgSeq"]]  # the group's tips before them went too
    conv = await conversation(room.nora, room.gid)
    assert conv["unreadCount"] == 1
    assert conv["lastMessage"]["seq"] == sent[2]["MsgSeq"]
    # the admin still reads what was cleared
    admin = await admin_history(rest, room.gid, ReqMsgNumber=3)
    assert [(h["MsgSeq"], h["IsPlaceMsg"]) for h in admin] == [(s["MsgSeq"], 0) for s in reversed(sent)]
    # without MsgSeq: all of it; new messages come after
    await rest.ok(CLEAR, {"GroupId": room.gid})
    conv = await conversation(room.nora, room.gid)
    assert (conv["unreadCount"], conv["lastMessage"]) == (0, None)
    assert await sdk_history(room.nora, room.gid) == []
    later = await send(rest, room.gid, "after", 9, From_Account="mike")
    assert [h["seq"] for h in await sdk_history(room.nora, room.gid)] == [later["MsgSeq"]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, 10004),
        ({"GroupId": "G", "MsgSeq": "x"}, 10004),
        ({"GroupId": "G", "MsgSeq": 0}, 10004),
        ({"GroupId": "@TGS#missing"}, 10010),
        ({"GroupId": "COMMUNITY"}, 10007),
    ],
)
async def test_clear_bad_input_changes_nothing(rest: RestClient, room: Room, body: dict[str, Any], code: int) -> None:
    sent = await send(rest, room.gid, "stays", 1, From_Account="olive")
    community = await room.olive.create("Community")
    names = {"G": room.gid, "COMMUNITY": community}
    body = {k: names.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    await rest.fails(CLEAR, body, code)
    assert [h["seq"] for h in await sdk_history(room.nora, room.gid, 1)] == [sent["MsgSeq"]]


# ---- all_member_push/im_push ----------------------------------------------------------------------
# Tencent's sample (all_member_push/im_push): the admin pushes to everyone, kept offline 120 s
PUSH_SAMPLE = {
    "From_Account": "administrator",
    "MsgRandom": 56512,
    "MsgLifeTime": 120,
    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}}],
}
CONVERSATIONS = "{ getConversationList(count: 20) { conversationList { conversationID } } }"


async def pushed(server: InProcessGateway, task_id: str) -> int:
    """Wait for the task to finish (the workers run it); how many users heard it."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        _, sent, done = await cast(EmbeddedBackend, server.gateway.backend).all_member_push.progress(task_id)
        if done:
            return sent
        await asyncio.sleep(0.05)
    raise AssertionError(f"push task {task_id} did not finish")


async def queued_pushes(server: InProcessGateway) -> list[tuple[str, list[str]]]:
    """(msgID, receivers) of each offline push queued (no worker takes them in these tests)."""
    gw = server.gateway
    entries = await gw.redis.xrange(gw.keys.push_queue())
    jobs = [decode_job(fields.get("job") or fields.get(b"job")) for _, fields in entries]
    return [(j.message.msgID, sorted(j.receivers or [])) for j in jobs]


async def task_count(server: InProcessGateway) -> int:
    gw = server.gateway
    return int(await gw.redis.xlen(gw.keys.push_tasks()))


class Watcher(Member):
    """A user online, watching groups, messages and (conv_op) conversations."""

    @property
    def conv_op(self) -> str:
        return self.ops[2]


async def watcher(client: HTTPClient, server: InProcessGateway, name: str) -> Watcher:
    w = await Watcher.online(client, server.ws_url, name, GROUP_EVENTS, MSG_EVENTS, CONV_EVENTS)
    await w.drain(w.msgs_op)
    await w.drain(w.conv_op)
    return w


async def test_im_push_golden_and_delivery(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await watcher(client, server, "alice"), await watcher(client, server, "bob")
    await client.login("carol")  # an account, not online
    await rest.ok("im_open_login_svc/account_import", {"UserID": "dave"})
    answer = await rest.ok(PUSH, PUSH_SAMPLE)
    assert set(answer) == {"ActionStatus", "ErrorInfo", "ErrorCode", "TaskId"}
    assert isinstance(answer["TaskId"], str)
    assert answer["TaskId"]
    assert await pushed(server, answer["TaskId"]) == 2
    for m in (alice, bob):
        got = await m.messages()
        assert [(e["sender"], e["textElem"]["text"], e["isSelf"]) for e in got] == [
            ("administrator", "hi, beauty", False)
        ]
        # not stored: no conversation, no history, no unread
        assert await m.drain(m.conv_op) == []
        assert (await m.q(CONVERSATIONS))["getConversationList"]["conversationList"] == []
        history = await m.q('{ getC2CHistoryMessageList(userID: "administrator", count: 10) { msgID } }')
        assert history["getC2CHistoryMessageList"] == []
    # the others get an offline push (MsgLifeTime > 0), the sender nothing
    assert await queued_pushes(server) == [(answer["TaskId"], ["carol", "dave"])]


async def test_im_push_online_only_by_default_and_from_a_user(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = await watcher(client, server, "alice"), await watcher(client, server, "bob")
    await client.login("carol")
    body = {"From_Account": "alice", "MsgRandom": 1, "MsgBody": text("from alice")}
    answer = await rest.ok(PUSH, body)
    assert await pushed(server, answer["TaskId"]) == 1
    assert [(e["sender"], e["textElem"]["text"]) for e in await bob.messages()] == [("alice", "from alice")]
    assert await alice.messages() == []  # the sender is not pushed to
    assert await queued_pushes(server) == []  # MsgLifeTime 0: online users only


async def test_im_push_limits(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    bob = await watcher(client, server, "bob")
    first = await rest.ok(PUSH, {"MsgRandom": 7, "MsgBody": text("one")})
    await pushed(server, first["TaskId"])
    assert len(await bob.messages()) == 1
    # the same MsgRandom within 7 days is the same task: its TaskId, nothing sent, no limit taken
    again = await rest.ok(PUSH, {"MsgRandom": 7, "MsgBody": text("one")})
    assert again["TaskId"] == first["TaskId"]
    # another push within 1 s is refused, and changes nothing
    await rest.fails(PUSH, {"MsgRandom": 8, "MsgBody": text("two")}, 90024)
    assert await task_count(server) == 0  # the first task is done and gone; nothing new
    await clock.advance(1.5)
    second = await rest.ok(PUSH, {"MsgRandom": 8, "MsgBody": text("two")})
    await pushed(server, second["TaskId"])
    assert [e["textElem"]["text"] for e in await bob.messages()] == ["two"]
    # 100 a day
    gw = server.gateway
    day = time.strftime("%Y%m%d", time.gmtime(clock.now()))
    await gw.redis.set(gw.keys.push_daily(day), 100)
    await clock.advance(1.5)
    await rest.fails(PUSH, {"MsgRandom": 9, "MsgBody": text("three")}, 90047)
    assert await task_count(server) == 0
    # refused, the MsgRandom may be used again once allowed (as on a new day's quota)
    await gw.redis.delete(gw.keys.push_daily(day))
    third = await rest.ok(PUSH, {"MsgRandom": 9, "MsgBody": text("three")})
    await pushed(server, third["TaskId"])
    assert [e["textElem"]["text"] for e in await bob.messages()] == ["three"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"MsgRandom": None}, 90005),
        ({"MsgRandom": "x"}, 90005),
        ({"MsgLifeTime": 604801}, 90026),
        ({"MsgLifeTime": -1}, 90026),
        ({"MsgBody": None}, 90001),
        ({"MsgBody": [{"MsgType": "TIMNoSuchElem", "MsgContent": {}}]}, 90001),
        ({"OfflinePushInfo": "x"}, 90001),
        ({"From_Account": "nobody"}, 20003),
        ({"Condition": {"TagsAnd": ["stock A", "stock B"]}}, 90045),
        ({"Condition": {"AttrsOr": {"sex": "male"}}}, 90045),
        ({"MsgBody": text("x" * 11000)}, 90056),
    ],
)
async def test_im_push_bad_input_changes_nothing(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, change: dict[str, Any], code: int
) -> None:
    bob = await watcher(client, server, "bob")
    body: dict[str, Any] = {"MsgRandom": 5, "MsgBody": text("x")}
    for name, value in change.items():
        if value is None:
            body.pop(name)
        else:
            body[name] = value
    await rest.fails(PUSH, body, code)
    assert await task_count(server) == 0
    assert await bob.messages() == []
    # neither the pace nor the MsgRandom was taken
    answer = await rest.ok(PUSH, {"MsgRandom": 5, "MsgBody": text("fine")})
    await pushed(server, answer["TaskId"])
    assert [e["textElem"]["text"] for e in await bob.messages()] == ["fine"]


async def test_im_push_reaches_accounts_created_before_the_index(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    bob = await watcher(client, server, "bob")
    gw = server.gateway
    await gw.redis.zrem(gw.keys.accounts(), "bob")  # as if created before the accounts were listed
    answer = await rest.ok(PUSH, {"MsgRandom": 3, "MsgBody": text("found you")})
    assert await pushed(server, answer["TaskId"]) == 1
    assert [e["textElem"]["text"] for e in await bob.messages()] == ["found you"]
    # and a deleted account is no longer listed
    await rest.ok("im_open_login_svc/account_delete", {"DeleteItem": [{"UserID": "bob"}]})
    assert await gw.redis.zscore(gw.keys.accounts(), "bob") is None


async def test_im_push_task_resumes_where_a_dead_replica_stopped(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = server.gateway
    monkeypatch.setattr(gw.all_member_push_worker, "claim_idle_seconds", 0.2)
    users = [await watcher(client, server, name) for name in ("alice", "bob", "carol")]
    # a task another replica took and delivered to alice before it died: its cursor is past alice
    spec = PushSpec(
        sender="alice", random=11, content=Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT), offline_push=False
    )
    spec = msgspec.structs.replace(spec, content=msgspec.structs.replace(spec.content, textElem={"text": "resumed"}))
    task = PushTask(task_id="t-resume", spec=spec, created=int(time.time()))
    await gw.redis.hset(
        gw.keys.push_task("t-resume"), mapping={"task": msgspec.json.encode(task), "cursor": "alice", "sent": 0}
    )
    stream = gw.keys.push_tasks()
    # taken by the dead replica before a live one could; no poke wakes the live worker: its own
    # periodic read (AllMemberPushWorker.poll_seconds) claims the task once idle
    pipe = gw.redis.pipeline(transaction=True)
    pipe.xadd(stream, {"task": "t-resume"})
    pipe.xreadgroup(all_member_push.GROUP, "dead-replica", {stream: ">"}, count=1)
    await pipe.execute()
    assert await pushed(server, "t-resume") == 2
    got = {m.name: [e["textElem"]["text"] for e in await m.messages()] for m in users}
    assert got == {"alice": [], "bob": ["resumed"], "carol": ["resumed"]}
    assert await task_count(server) == 0
