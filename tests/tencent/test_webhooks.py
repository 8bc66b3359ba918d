"""Tencent's webhooks coming in (issue 17 item 2, the transport): FIXTURES.md section C bodies decoded
into typed events field by field; `POST /tencent/callback` checking, answering, de-duplicating and
queueing; the inbound worker dropping echoes and retrying a failed handler; and end to end, an
embedded `imql serve` (standing in for Tencent) whose callbacks reach a gateway's handler."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson
import pytest

from gateway.clock import ManualClock
from gateway.config import ConfigError, Settings, load_settings
from gateway.im.enums import ElemType
from gateway.im.messages import Content, CustomElem, TextElem
from gateway.tencent import inbound
from gateway.tencent.inbound import (
    GROUP,
    OTHER_LANE,
    SEND,
    BlacklistAdded,
    BlacklistDeleted,
    C2CMessageExtension,
    C2CMessageModified,
    C2CMessageRead,
    C2CMessageRecalled,
    C2CMessageSent,
    C2CSendRequested,
    Extension,
    FriendApplicationsAdded,
    FriendApplicationsAnswered,
    FriendPair,
    FriendRequest,
    FriendResponse,
    FriendsAdded,
    FriendsDeleted,
    GroupAttrChanged,
    GroupCreated,
    GroupDestroyed,
    GroupInfoChanged,
    GroupJoinRequested,
    GroupMemberFieldChanged,
    GroupMembersJoined,
    GroupMembersLeft,
    GroupMessageExtension,
    GroupMessageModified,
    GroupMessageSent,
    GroupMessagesRecalled,
    GroupOwnerChanged,
    GroupReadReceipts,
    GroupReceipt,
    GroupSendRequested,
    InboundDecodeError,
    InboundEvent,
    PortraitSet,
    StateChanged,
    c2c_echo_key,
    c2c_send_id,
    decode_callback,
    group_echo_key,
    ordering_lane,
)
from gateway.tencent.webhooks import DEDUPE_TTL_SECONDS, UNTIMED_DEDUPE_TTL_SECONDS, delivery_identity
from gateway.v4 import callbacks as wire
from gateway.v4.identity import MsgKey
from tests.conftest import SECRET
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway, spawn_gateway, start_in_process
from tests.tencent import fixtures as fx

TOKEN = "xxxxyyyy"  # FIXTURES.md A4's token
PATH = "/tencent/callback"
OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}


def text(t: str) -> Content:
    return Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=t))


RED_PACKET = (text("red packet"),)
BODY = tuple(fx.MSG_BODY)


# ---- golden decode of every FIXTURES.md section C body -----------------------------------------
def _meta(body: dict[str, Any]) -> dict[str, Any]:
    return {"command": body["CallbackCommand"], "platform": "Android", "client_ip": "10.0.0.1"}


GOLDEN: list[tuple[str, dict[str, Any], InboundEvent]] = [
    (
        "C1",
        fx.C1,
        C2CSendRequested(
            **_meta(fx.C1),
            from_account="jared",
            to_account="John",
            msg_seq=48374,
            msg_random=2837546,
            msg_time=1557481126,
            msg_key="48374_2837546_1557481126",
            online_only=True,
            contents=RED_PACKET,
            msg_body=BODY,
            cloud_custom_data="your cloud custom data",
        ),
    ),
    (
        "C2",
        fx.C2,
        C2CMessageSent(
            **_meta(fx.C2),
            from_account="jared",
            to_account="Jonh",
            msg_seq=48374,
            msg_random=2837546,
            msg_time=1557481126,
            msg_key="48374_2837546_1557481126",
            online_only=True,
            contents=RED_PACKET,
            msg_body=BODY,
            cloud_custom_data="your cloud custom data",
            send_result=0,
            error_info="send msg succeed",
            unread=7,
        ),
    ),
    (
        "C3",
        fx.C3,
        C2CMessageRead(**_meta(fx.C3), reporter="jared", peer="Jonh", last_read_time=1614754606, unread=7),
    ),
    (
        "C4",
        fx.C4,
        C2CMessageRecalled(
            **_meta(fx.C4), from_account="jared", to_account="Jonh", msg_key="48374_2837546_1557481126", unread=7
        ),
    ),
    (
        "C5",
        fx.C5,
        C2CMessageModified(
            **_meta(fx.C5),
            operator="jared",
            from_account="jared",
            to_account="Jonh",
            msg_seq=609,
            msg_random=690,
            msg_time=1769771529,
            msg_key="609_690_1769771529",
            contents=(text("2026-01-30T11:20:26.548Z"),),
            msg_body=tuple(fx.C5["MsgBody"]),
            cloud_custom_data="1769772027",
            event_time=1769772027036,
        ),
    ),
    (
        "C6",
        fx.C6,
        C2CMessageExtension(
            **_meta(fx.C6),
            from_account="user1",
            to_account="user2",
            msg_key="93847636_1287657_1764688415",
            operate_type=1,
            extensions=(Extension("k1", "v1", 1), Extension("k2", "v2", 1), Extension("k3", "v3", 1)),
            seq=1,
            event_time=1764688540182,
        ),
    ),
    (
        "C7",
        fx.C7,
        GroupMessageSent(
            **_meta(fx.C7),
            group_id="@TGS#2J4SZEAEL",
            group_type="Public",
            from_account="jared",
            operator="admin",
            random=123456,
            msg_id="144115233406643804-1727580296-4026038328",
            msg_seq=123,
            msg_time=1490686222,
            online_only=True,
            contents=RED_PACKET,
            msg_body=BODY,
            cloud_custom_data="your cloud custom data",
            event_time=1670574414123,  # a string on the wire
        ),
    ),
    (
        "C8",
        fx.C8,
        GroupSendRequested(
            **_meta(fx.C8),
            group_id="@TGS#2J4SZEAEL",
            group_type="Community",
            from_account="jared",
            operator="admin",
            random=123456,
            online_only=True,
            contents=RED_PACKET,
            msg_body=BODY,
            cloud_custom_data="your cloud custom data",
            topic_id="@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic",
            event_time=1670574414123,
        ),
    ),
    (
        "C9",
        fx.C9,
        GroupMembersJoined(
            **_meta(fx.C9),
            group_id="@TGS#2J4SZEAEL",
            group_type="Public",
            join_type="Apply",
            operator="leckie",
            members=("jared", "tommy"),
            event_time=1670574414123,
        ),
    ),
    (
        "C10",
        fx.C10,
        GroupMembersLeft(
            **_meta(fx.C10),
            group_id="@TGS#2J4SZEAEL",
            group_type="Public",
            exit_type="Kicked",
            operator="leckie",
            members=("jared", "tommy"),
            event_time=1670574414123,
        ),
    ),
    (
        "C11",
        fx.C11,
        GroupCreated(
            **_meta(fx.C11),
            group_id="@TGS#2J4SZEAEL",
            group_type="Public",
            operator="group_root",
            owner="leckie",
            name="MyFirstGroup",
            members=("bob", "peter"),
            user_defined_data=(("UserDefined1", "hello"), ("UserDefined2", "world")),
            event_time=1670574414123,
        ),
    ),
    (
        "C12",
        fx.C12,
        GroupDestroyed(
            **_meta(fx.C12),
            group_id="@TGS#2J4SZEAEL",
            group_type="Public",
            owner="leckie",
            name="MyFirstGroup",
            members=("leckie", "peter", "bob"),
            event_time=1670574414123,
        ),
    ),
    (
        "C13",
        fx.C13,
        GroupInfoChanged(
            **_meta(fx.C13),
            group_id="@TGS#2J4SZEAEL",
            group_type="Public",
            operator="leckie",
            notification="NewNotification",  # name, introduction, face_url: unchanged, so None
            event_time=1670574414123,
        ),
    ),
    (
        "C14",
        fx.C14,
        GroupMessagesRecalled(
            **_meta(fx.C14),
            group_id="1213456",
            group_type="Community",
            operator="admin",
            msg_seqs=(130,),
            topic_id="@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic",
            event_time=1670574414123,
        ),
    ),
    (
        "C15",
        fx.C15,
        GroupMemberFieldChanged(
            **_meta(fx.C15),
            group_id="@TGS#xxxx",
            group_type="Community",
            operator="admin",
            member="123456",
            role="Admin",
            name_card="jacky",
            event_time=1670574414123,
        ),
    ),
    (
        "C16",
        fx.C16,
        GroupOwnerChanged(
            **_meta(fx.C16),
            group_id="@TGS#2TTV7VSII",
            group_type="Public",
            operator="admin",
            old_owner="user1",
            new_owner="user2",
            event_time=1670574414123,
        ),
    ),
    (
        "C17",
        fx.C17,
        GroupAttrChanged(
            **_meta(fx.C17),
            group_id="@TGS#2J4SZEAEL",
            group_type="Public",
            operator="leckie",
            option_type="set",
            attrs=(("key1", "value1"), ("key2", "values")),
            event_time=1670574414123,
        ),
    ),
    (
        "C18",
        fx.C18,
        GroupReadReceipts(
            **_meta(fx.C18),
            group_id="@TGS#2TTV7VSII",
            group_type="Public",
            receipts=(GroupReceipt(1, 1, 6, ("user0",)), GroupReceipt(2, 1, 6, ("user0",))),
            event_time=1670574414123,
        ),
    ),
    (
        "C19",
        fx.C19,
        GroupJoinRequested(
            **_meta(fx.C19),
            group_id="@TGS#2J4SZEAEL",
            group_type="Public",
            requestor="jared",
            event_time=1670574414123,
        ),
    ),
    (
        "C20",
        fx.C20,
        GroupMessageModified(
            **_meta(fx.C20),
            group_id="group-test-2",
            operator="oper-user",
            msg_seq=53,
            topic_id="",
            contents=(text("2026-03-06T02:09:35.302Z"),),
            msg_body=tuple(fx.C20["MsgBody"]),
            event_time=1772762975589,
        ),
    ),
    (
        "C21",
        fx.C21,
        GroupMessageExtension(
            **_meta(fx.C21),
            group_id="test",
            msg_seq=10,
            operate_type=1,
            extensions=(Extension("key2", "value2", 56), Extension("key3", "12122", 56)),
            seq=56,
            event_time=1764688294360,
        ),
    ),
    (
        "C22",
        fx.C22,
        FriendsAdded(
            **_meta(fx.C22),
            pairs=(FriendPair("id", "id1", "id"), FriendPair("id", "id2", "id"), FriendPair("id", "id3", "id")),
            client_cmd="friend_add",
            admin_account="",
            force_flag=1,
        ),
    ),
    (
        "C23",
        fx.C23,
        FriendsDeleted(
            **_meta(fx.C23), pairs=(FriendPair("id", "id1"), FriendPair("id", "id2"), FriendPair("id", "id3"))
        ),
    ),
    (
        "C23-blacklist-add",
        {**fx.C23, "CallbackCommand": "Sns.CallbackBlackListAdd"},
        BlacklistAdded(
            command="Sns.CallbackBlackListAdd",
            platform="Android",
            client_ip="10.0.0.1",
            pairs=(FriendPair("id", "id1"), FriendPair("id", "id2"), FriendPair("id", "id3")),
        ),
    ),
    (
        "C23-blacklist-delete",
        {**fx.C23, "CallbackCommand": "Sns.CallbackBlackListDelete"},
        BlacklistDeleted(
            command="Sns.CallbackBlackListDelete",
            platform="Android",
            client_ip="10.0.0.1",
            pairs=(FriendPair("id", "id1"), FriendPair("id", "id2"), FriendPair("id", "id3")),
        ),
    ),
    (
        "C24",
        fx.C24,
        FriendApplicationsAdded(
            **_meta(fx.C24),
            requester="id",
            from_account="id",
            requests=(
                FriendRequest("id1", "remark1", "group1", "AddSource_Type_Android", "this is id1!"),
                FriendRequest("id2", "remark2", "group1", "AddSource_Type_Android", "this is id2!"),
            ),
            add_type="Add_Type_Both",
            force_add_flags=0,
            event_time=1631777344870,
        ),
    ),
    (
        "C25",
        fx.C25,
        PortraitSet(
            **_meta(fx.C25),
            operator="id1",
            from_account="id1",
            items=(
                ("Tag_Profile_IM_Nick", "nick1"),
                ("Tag_Profile_IM_Gender", "Gender_Type_Male"),
                ("Tag_Profile_IM_AllowType", "AllowType_Type_NeedConfirm"),
                ("Tag_Profile_Custom_Data", "your custom data"),
            ),
            event_time=1656921052497,
        ),
    ),
    (
        "C26",
        fx.C26,
        StateChanged(
            **_meta(fx.C26),
            user_id="testuser316",
            action="Login",
            reason="Register",
            kicked_platforms=("Windows", "Android"),
            event_time=1629883332497,
        ),
    ),
]


@pytest.mark.parametrize(("name", "body", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_every_section_c_body_decodes_field_by_field(name: str, body: dict[str, Any], expected: InboundEvent) -> None:
    decoded = decode_callback(body["CallbackCommand"], body, platform="Android", client_ip="10.0.0.1")
    assert type(decoded) is type(expected)
    assert decoded is not None
    for field in expected.__struct_fields__:
        assert getattr(decoded, field) == getattr(expected, field), field
    assert decoded == expected


def test_decoding_is_lenient_where_tencent_is_inconsistent() -> None:
    # EventTime as a number where the docs print a string, and the other way round
    numeric = decode_callback(fx.C9["CallbackCommand"], {**fx.C9, "EventTime": 1670574414123})
    assert isinstance(numeric, GroupMembersJoined)
    assert numeric.event_time == 1670574414123
    stringly = decode_callback(fx.C25["CallbackCommand"], {**fx.C25, "EventTime": "1656921052497"})
    assert isinstance(stringly, PortraitSet)
    assert stringly.event_time == 1656921052497
    # [DOOCS]' Modified_Account for the member, numbers as digit strings, numeric user IDs
    doocs = {k: v for k, v in fx.C15.items() if k != "Member_Account"} | {"Modified_Account": 123456}
    changed = decode_callback(fx.C15["CallbackCommand"], doocs)
    assert isinstance(changed, GroupMemberFieldChanged)
    assert changed.member == "123456"
    sent = decode_callback(fx.C2["CallbackCommand"], {**fx.C2, "MsgSeq": "48374", "MsgId": "m-1", "EventTime": 5})
    assert isinstance(sent, C2CMessageSent)
    assert (sent.msg_seq, sent.msg_id, sent.event_time, sent.delivered) == (48374, "m-1", 5, True)
    # a failed send still decodes; the backend delivers only `delivered` ones
    blocked = decode_callback(fx.C2["CallbackCommand"], {**fx.C2, "SendMsgResult": 80001})
    assert isinstance(blocked, C2CMessageSent)
    assert not blocked.delivered
    # C27: signaling rides in a custom element; several elements, one imql cannot read, keep the body
    signal = decode_callback(fx.C2["CallbackCommand"], {**fx.C2, "MsgBody": fx.C27_BODY})
    assert isinstance(signal, C2CMessageSent)
    assert signal.contents == (
        Content(
            elemType=ElemType.V2TIM_ELEM_TYPE_CUSTOM, customElem=CustomElem(data=fx.C27_BODY[0]["MsgContent"]["Data"])
        ),
    )
    mixed = [*fx.MSG_BODY, {"MsgType": "TIMRelayElem", "MsgContent": {}}, *fx.MSG_BODY]
    several = decode_callback(fx.C2["CallbackCommand"], {**fx.C2, "MsgBody": mixed})
    assert isinstance(several, C2CMessageSent)
    assert several.contents == (text("red packet"), text("red packet"))
    assert several.msg_body == tuple(mixed)
    # OperateType 3 clears every key: no list
    cleared = decode_callback(fx.C6["CallbackCommand"], {**fx.C6, "OperateType": 3, "ExtensionList": []})
    assert isinstance(cleared, C2CMessageExtension)
    assert (cleared.operate_type, cleared.extensions) == (3, ())
    answered = decode_callback(
        "Sns.CallbackPrevFriendResponse",
        {
            "CallbackCommand": "Sns.CallbackPrevFriendResponse",
            "Requester_Account": "id",
            "From_Account": "id",
            "ResponseFriendItem": [
                {"To_Account": "id1", "Remark": "r", "TagName": "t", "ResponseAction": "Response_Action_Agree"}
            ],
            "EventTime": 1,
        },
    )
    assert isinstance(answered, FriendApplicationsAnswered)
    assert answered.responses == (FriendResponse("id1", "Response_Action_Agree", "r", "t"),)
    assert decode_callback("Alert.RequestOverLimit", {"CallbackCommand": "Alert.RequestOverLimit"}) is None
    for broken in ({**fx.C2, "MsgKey": None}, {**fx.C2, "MsgSeq": "many"}, {**fx.C2, "MsgBody": "hi"}):
        with pytest.raises(InboundDecodeError):
            decode_callback(fx.C2["CallbackCommand"], broken)


def test_delivery_identities() -> None:
    # C2C by MsgKey and the pair: a retry with a recomputed UnreadMsgNum is the same delivery
    assert delivery_identity(wire.C2C_AFTER_SEND, fx.C2) == delivery_identity(
        wire.C2C_AFTER_SEND, {**fx.C2, "UnreadMsgNum": 8}
    )
    assert delivery_identity(wire.C2C_AFTER_SEND, fx.C2) != delivery_identity(
        wire.C2C_AFTER_SEND, {**fx.C2, "To_Account": "other"}
    )
    # the recall of a message is not its send
    assert delivery_identity(wire.C2C_AFTER_WITHDRAW, fx.C4)[0] != delivery_identity(wire.C2C_AFTER_SEND, fx.C2)[0]
    # groups by GroupId + TopicId + MsgSeq
    assert delivery_identity(wire.GROUP_AFTER_SEND, fx.C7) == delivery_identity(
        wire.GROUP_AFTER_SEND, {**fx.C7, "EventTime": "1"}
    )
    assert delivery_identity(wire.GROUP_AFTER_SEND, fx.C7) != delivery_identity(
        wire.GROUP_AFTER_SEND, {**fx.C7, "TopicId": "@TGS#_x@TOPIC#_t"}
    )
    # the rest by the body (EventTime included); without a time in it, remembered briefly
    join, ttl = delivery_identity(wire.GROUP_AFTER_JOIN, fx.C9)
    assert ttl == DEDUPE_TTL_SECONDS
    assert join != delivery_identity(wire.GROUP_AFTER_JOIN, {**fx.C9, "EventTime": "1670574414124"})[0]
    assert delivery_identity(wire.FRIEND_ADD, fx.C22)[1] == UNTIMED_DEDUPE_TTL_SECONDS
    # two modifications of one message are two callbacks
    assert delivery_identity("C2C.CallbackAfterModifyMsg", fx.C5) != delivery_identity(
        "C2C.CallbackAfterModifyMsg", {**fx.C5, "EventTime": 1769772027999}
    )


def test_settings_name_the_token_and_the_path() -> None:
    off = load_settings({})
    assert (off.tencent_callback_token, off.tencent_callback_path) == (None, "/tencent/callback")
    on = load_settings({"IMQL_TENCENT_CALLBACK_TOKEN": "tok", "IMQL_TENCENT_CALLBACK_PATH": "/hooks/im"})
    assert (on.tencent_callback_token, on.tencent_callback_path) == ("tok", "/hooks/im")
    with pytest.raises(ConfigError):
        load_settings({"IMQL_TENCENT_CALLBACK_PATH": "hooks"})


# ---- the route -----------------------------------------------------------------------------------
class Recorder:
    """An InboundHandler that keeps what it gets; it can fail its first calls or wait for a gate."""

    def __init__(self, fail_first: int = 0, gate: asyncio.Event | None = None) -> None:
        self.events: list[InboundEvent] = []
        self.calls = 0
        self.fail_first = fail_first
        self.gate = gate
        self._arrived = asyncio.Event()

    async def handle(self, event: InboundEvent) -> None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.calls <= self.fail_first:
            raise RuntimeError("the backend is down")
        self.events.append(event)
        self._arrived.set()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[InboundEvent]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{count} events did not arrive; got {[e.command for e in self.events]}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self.events[:count]


@dataclass
class Hooked:
    server: InProcessGateway
    http: httpx.AsyncClient
    handler: Recorder
    clock: ManualClock

    @property
    def sdkappid(self) -> int:
        return self.server.settings.sdkappid

    def url(
        self,
        command: str,
        *,
        platform: str = "Android",
        token: str = TOKEN,
        request_time: int | None = None,
        sdkappid: int | None = None,
    ) -> str:
        when = int(self.clock.now()) if request_time is None else request_time
        query = wire.query_string(
            sdkappid or self.sdkappid, command, "10.0.0.1", platform, token=token, request_time=when
        )
        return f"{PATH}?{query}"

    async def post(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.http.post(self.url(body["CallbackCommand"], **kwargs), content=orjson.dumps(body))

    async def sentinel(self, n: int) -> InboundEvent:
        """A fresh, valid callback; once it is handled, everything queued before it was too."""
        body = {**fx.C3, "LastReadTime": 1_000_000 + n}
        assert (await self.post(body)).json() == OK

        def found() -> list[InboundEvent]:
            return [
                e for e in self.handler.events if isinstance(e, C2CMessageRead) and e.last_read_time == 1_000_000 + n
            ]

        deadline = time.monotonic() + 10
        while not found():
            assert time.monotonic() < deadline, self.handler.events
            await asyncio.sleep(0.02)
        (event,) = found()
        # conversations are handled side by side: the sentinel's lane may finish first, and its
        # batch is acknowledged once every lane is done
        gateway = self.server.gateway
        while (await gateway.redis.xpending(gateway.keys.tencent_inbound_queue(), GROUP))["pending"]:
            assert time.monotonic() < deadline, self.handler.events
            await asyncio.sleep(0.02)
        return event


async def _hooked(settings: Settings, clock: ManualClock, handler: Recorder) -> Hooked:
    server = await start_in_process(replace(settings, tencent_callback_token=TOKEN), clock, inbound_handler=handler)
    return Hooked(server, httpx.AsyncClient(base_url=server.base_url, timeout=10), handler, clock)


@pytest.fixture
async def hooked(settings: Settings, clock: ManualClock) -> AsyncIterator[Hooked]:
    running = await _hooked(settings, clock, Recorder())
    yield running
    await running.http.aclose()
    await running.server.stop()


async def test_a_signed_callback_is_answered_at_once_and_handled_once(settings: Settings, clock: ManualClock) -> None:
    gate = asyncio.Event()
    running = await _hooked(settings, clock, Recorder(gate=gate))
    try:
        started = time.monotonic()
        response = await running.post(fx.C2)
        # answered while the handler is still held: the work happens after the answer
        assert time.monotonic() - started < 1.5
        assert (response.status_code, response.json()) == (200, OK)
        assert response.headers["content-type"] == "application/json"
        assert running.handler.events == []
        gate.set()
        (event,) = await running.handler.wait_for(1)
        assert isinstance(event, C2CMessageSent)
        assert (event.msg_key, event.from_account, event.to_account, event.contents) == (
            fx.C2["MsgKey"],
            "jared",
            "Jonh",
            RED_PACKET,
        )
        assert (event.platform, event.client_ip) == ("Android", "10.0.0.1")
        # a before-friend callback is answered with every item allowed
        assert (await running.post(fx.C24)).json() == fx.C24_ANSWER
        await running.handler.wait_for(2)
    finally:
        await running.http.aclose()
        await running.server.stop()


async def test_a_retried_delivery_reaches_the_handler_once(hooked: Hooked) -> None:
    for body in (fx.C2, fx.C7, fx.C9):
        first = await hooked.post(body)
        await hooked.clock.advance(3)  # Tencent retries later, with a fresh RequestTime and Sign
        again = await hooked.post({**body, "UnreadMsgNum": 8} if body is fx.C2 else body)
        assert first.json() == again.json() == OK
    await hooked.sentinel(1)
    assert [e.command for e in hooked.handler.events] == [
        wire.C2C_AFTER_SEND,
        wire.GROUP_AFTER_SEND,
        wire.GROUP_AFTER_JOIN,
        "C2C.CallbackAfterMsgReport",
    ]


async def test_an_echo_of_the_gateways_own_rest_call_is_dropped(hooked: Hooked) -> None:
    worker = hooked.server.gateway.tencent_inbound
    assert worker is not None
    own = worker.own
    sent = c2c_send_id(fx.C2["MsgSeq"], fx.C2["MsgRandom"])
    await own.record_own_message(c2c_echo_key(SEND, "jared", "Jonh", sent))
    await own.record_own_message(group_echo_key(SEND, fx.C7["GroupId"], "", fx.C7["MsgSeq"]))
    assert await own.is_echo(c2c_echo_key(SEND, "jared", "Jonh", sent))
    assert not await own.is_echo(c2c_echo_key(SEND, "Jonh", "jared", sent))
    # the gateway's own sends come back from RESTAPI: dropped
    assert (await hooked.post(fx.C2, platform=wire.REST_API)).json() == OK
    assert (await hooked.post(fx.C7, platform=wire.REST_API)).json() == OK
    # a RESTAPI send the gateway did not make (the app's other servers) and a native one pass
    other = {**fx.C2, "MsgKey": "1_2_3", "MsgSeq": 1, "MsgRandom": 2, "MsgTime": 3}
    assert (await hooked.post(other, platform=wire.REST_API)).json() == OK
    native = {**fx.C7, "MsgSeq": 124}
    await own.record_own_message(group_echo_key(SEND, fx.C7["GroupId"], "", 124))
    assert (await hooked.post(native, platform="iOS")).json() == OK
    await hooked.sentinel(1)
    got = [(e.command, getattr(e, "msg_key", None) or getattr(e, "msg_seq", None)) for e in hooked.handler.events]
    assert sorted(got[:2], key=str) == [(wire.C2C_AFTER_SEND, "1_2_3"), (wire.GROUP_AFTER_SEND, 124)]
    assert len(got) == 3


async def test_forged_stale_foreign_mismatched_and_malformed_callbacks_are_refused(hooked: Hooked) -> None:
    now = int(hooked.clock.now())
    path = hooked.url(wire.C2C_AFTER_SEND)
    refusals: list[tuple[httpx.Response, int, int]] = [
        (await hooked.post(fx.C2, token="not-the-token"), 401, 60004),  # forged Sign
        (await hooked.post(fx.C2, request_time=now - 61), 401, 60004),  # stale
        (await hooked.post(fx.C2, request_time=now + 61), 401, 60004),  # from the future
        (await hooked.post(fx.C2, sdkappid=hooked.sdkappid + 1), 403, 60006),  # another app
        (await hooked.http.post(path.split("&Sign=")[0], content=orjson.dumps(fx.C2)), 401, 60004),  # unsigned
        (await hooked.http.post(hooked.url(wire.C2C_AFTER_WITHDRAW), content=orjson.dumps(fx.C2)), 400, 60002),
        (await hooked.http.post(path, content=b'{"CallbackCommand": "C2C.CallbackAfterSendMsg",'), 400, 60003),
        (await hooked.http.post(path, content=b"[1, 2]"), 400, 60003),
        (await hooked.http.post(path, content=b"x" * (1024 * 1024 + 1)), 413, 60002),
    ]
    for response, status, code in refusals:
        answer = response.json()
        assert (response.status_code, answer["ActionStatus"], answer["ErrorCode"]) == (status, "FAIL", code), answer
        assert answer["ErrorInfo"]
    # a signed body's RequestTime is checked, but a sign made for another time never passes
    forged_time = hooked.url(wire.C2C_AFTER_SEND).replace(f"RequestTime={now}", f"RequestTime={now - 1}")
    assert (await hooked.http.post(forged_time, content=orjson.dumps(fx.C2))).status_code == 401
    # nothing was queued: the first event handled is the sentinel sent after them all
    only = await hooked.sentinel(1)
    assert hooked.handler.events == [only]
    # and no delivery identity was claimed: the same callback, signed right, is accepted now
    assert (await hooked.post(fx.C2)).json() == OK
    assert isinstance((await hooked.handler.wait_for(2))[1], C2CMessageSent)


async def test_unknown_and_undecodable_callbacks_are_acknowledged(hooked: Hooked) -> None:
    alert = {"CallbackCommand": "Alert.RequestOverLimit", "ServiceName": "openim", "EventTime": 1}
    assert (await hooked.post(alert)).json() == OK
    assert (await hooked.post({**fx.C2, "MsgKey": None, "MsgSeq": "many"})).json() == OK
    await hooked.sentinel(1)
    assert len(hooked.handler.events) == 1
    queue = hooked.server.gateway.keys.tencent_inbound_queue()
    assert (await hooked.server.gateway.redis.xpending(queue, inbound.GROUP))["pending"] == 0


async def test_the_route_exists_only_with_a_token(server: InProcessGateway) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(PATH, content=orjson.dumps(fx.C2))
    assert response.status_code in (404, 405)
    assert server.gateway.tencent_inbound is None


async def test_a_failing_handler_is_retried_then_given_up(
    settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound, "CLAIM_IDLE_SECONDS", 0.2)
    monkeypatch.setattr(inbound, "MAX_ATTEMPTS", 3)
    running = await _hooked(settings, clock, Recorder(fail_first=1))
    try:
        assert (await running.post(fx.C2)).json() == OK
        (event,) = await running.handler.wait_for(1)
        assert isinstance(event, C2CMessageSent)
        assert running.handler.calls == 2  # failed once, then handled
        # a handler that never succeeds: MAX_ATTEMPTS calls, then the entry is dropped
        running.handler.fail_first = 10**6
        calls = running.handler.calls
        assert (await running.post(fx.C4)).json() == OK
        queue = running.server.gateway.keys.tencent_inbound_queue()
        redis = running.server.gateway.redis
        deadline = time.monotonic() + 10
        while running.handler.calls < calls + 3 or (await redis.xpending(queue, inbound.GROUP))["pending"]:
            assert time.monotonic() < deadline, "the failing entry was not dropped"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        assert running.handler.calls == calls + 3
        assert await redis.xlen(queue) == 0
    finally:
        await running.http.aclose()
        await running.server.stop()


# ---- end to end: an embedded `imql serve` as Tencent ----------------------------------------------


async def test_an_embedded_imql_as_tencent_delivers_a_c2c_message_to_the_handler(
    settings: Settings, sdkappid: int
) -> None:
    handler = Recorder()
    receiving = await start_in_process(replace(settings, tencent_callback_token=TOKEN), inbound_handler=handler)
    cloud = await spawn_gateway(
        {
            "IMQL_SDKAPPID": str(sdkappid),
            "IMQL_SECRET_KEY": SECRET,
            "IMQL_REDIS_URL": "",  # the cloud keeps its own data, in its process
            "IMQL_CALLBACK_URL": f"{receiving.base_url}{PATH}",
            "IMQL_CALLBACK_TOKEN": TOKEN,
        }
    )
    http = HTTPClient(cloud.base_url, sdkappid, SECRET)
    try:
        alice = await http.login("alice", platform="android")
        await http.login("bob")
        created = (await http.gql('mutation { createTextMessage(text: "hi bob") { id } }', token=alice)).ok()[
            "createTextMessage"
        ]["id"]
        sent = (
            await http.gql(
                'mutation($id: String!) { sendMessage(id: $id, receiver: "bob") { msgID seq random timestamp } }',
                {"id": created},
                token=alice,
            )
        ).ok()["sendMessage"]
        key = str(MsgKey(sent["seq"], sent["random"], sent["timestamp"]))
        deadline = time.monotonic() + 10
        while not any(isinstance(e, C2CMessageSent) for e in handler.events):
            assert time.monotonic() < deadline, [e.command for e in handler.events]
            await handler.wait_for(len(handler.events) + 1, timeout=deadline - time.monotonic())
        (event,) = [e for e in handler.events if isinstance(e, C2CMessageSent)]
        assert (event.msg_key, event.msg_id, event.from_account, event.to_account) == (
            key,
            sent["msgID"],
            "alice",
            "bob",
        )
        assert event.contents == (text("hi bob"),)
        assert (event.platform, event.delivered, event.unread) == ("Android", True, 1)
        # the before-callback came too, answered "allow" (the send went through)
        assert any(isinstance(e, C2CSendRequested) and e.msg_key == key for e in handler.events)
    finally:
        await http.aclose()
        cloud.terminate()
        await receiving.stop()


def test_events_keep_their_order_within_a_conversation_and_no_further() -> None:
    def lane(cmd: str, body: dict[str, Any]) -> str:
        return ordering_lane({"cmd": cmd, "body": orjson.dumps(body).decode()})

    sent = lane("C2C.CallbackAfterSendMsg", {"From_Account": "a", "To_Account": "b"})
    assert sent == lane("C2C.CallbackAfterMsgWithDraw", {"From_Account": "b", "To_Account": "a"})  # both ways
    assert sent == lane("C2C.CallbackAfterMsgReport", {"Report_Account": "a", "Peer_Account": "b"})
    assert sent != lane("C2C.CallbackAfterSendMsg", {"From_Account": "a", "To_Account": "c"})
    group = lane("Group.CallbackAfterSendMsg", {"GroupId": "g1"})
    assert group == lane("Group.CallbackAfterMemberExit", {"GroupId": "g1"})
    assert group != lane("Group.CallbackAfterSendMsg", {"GroupId": "g2"})
    assert lane("Sns.CallbackFriendAdd", {"PairList": []}) == lane("Profile.CallbackPortraitSet", {}) == OTHER_LANE
    assert ordering_lane({"cmd": "C2C.CallbackAfterSendMsg", "body": "not json"}) == OTHER_LANE
