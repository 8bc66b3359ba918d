"""setGroupReceiveMessageOpt on the Tencent backend (docs/tencent.md, MAPPING.md #36).

The option is written through first, as the member's `MsgFlag` (`modify_group_member_info`, B26),
so that the user's native devices and Tencent's push obey it, and then kept in the mirror, whose
`recvOpt`, unread totals and push planner read it. A refusal, by the mirror's rules or by Tencent,
changes nothing on either side. The end-to-end tests run against imql's own REST v4 server standing
in for Tencent (tests/support/tencent_pair.py); the wire tests hold the requests to Tencent's
documented bodies against `httpx.MockTransport`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import orjson
import redis.asyncio as aioredis

from gateway.config import Settings
from gateway.errors import Code
from gateway.im.enums import MessageOpt
from gateway.keys import Keys
from gateway.tencent.client import TencentRestClient
from gateway.tencent.groups import TencentGroups
from gateway.tencent.inbound import OwnMessages
from gateway.v4.callbacks import GROUP_AFTER_DESTROY, GROUP_AFTER_EXIT, SUPPORTED_COMMANDS
from tests.conftest import SECRET
from tests.support.groups import Member, info, member
from tests.support.tencent_pair import Pair, eventually, running_pair
from tests.test_push import PUSH_SECRET, Receiver, receiver, user

__all__ = ["receiver"]  # the push tests' real HTTP receiver, as a fixture here

SET = "mutation($g: String!, $o: V2TIM_MessageOpt!) { setGroupReceiveMessageOpt(groupID: $g, opt: $o) }"
RECV_OPT = "query($c: String!) { getConversation(conversationID: $c) { recvOpt } }"
# V2TIM_MessageOpt as the GraphQL enum names it -> the MsgFlag Tencent keeps for the member (FIXTURES B25/B26)
MSG_FLAGS = {
    "V2TIM_NOT_RECEIVE_MESSAGE": "Discard",
    "V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE": "AcceptNotNotify",
    "V2TIM_RECEIVE_MESSAGE": "AcceptAndNotify",
}
APP = 1400000000
OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}


async def msg_flag_on_tencent(pair: Pair, gid: str, user_id: str) -> str | None:
    """The member's MsgFlag as Tencent reports it (get_specified_group_member_info); None: no member."""
    answer = await pair.admin(
        "group_open_http_svc/get_specified_group_member_info", {"GroupId": gid, "Member_List_Account": [user_id]}
    )
    assert answer["ErrorCode"] == 0, answer
    rows = [row for row in answer.get("MemberList", []) if row["Member_Account"] == user_id]
    return str(rows[0]["MsgFlag"]) if rows else None


async def recv_opt(m: Member, gid: str) -> int:
    return int((await m.q(RECV_OPT, {"c": f"group_{gid}"}))["getConversation"]["recvOpt"])


async def mirror_option(pair: Pair, user_id: str, gid: str) -> str | None:
    """The raw field of the user's receive options in the gateway's mirror (None: never set)."""
    keys = Keys(pair.at_gateway.sdkappid)
    client = aioredis.Redis.from_url(str(pair.gateway.settings.redis_url), decode_responses=True)
    try:
        value = await client.hget(keys.receive_options(user_id), Keys.group_receive_option_field(gid))
        return None if value is None else str(value)
    finally:
        await client.aclose()


# ---- end to end, against the stand-in ------------------------------------------------------------
async def test_each_option_becomes_the_members_msgflag_on_tencent_and_the_mirrors_recvopt(pair: Pair) -> None:
    alice = await member(pair.at_gateway, pair.gateway, "alice")
    await member(pair.at_cloud, pair.cloud, "bob")
    gid = await alice.create("Work", "quiet please", m=[{"userID": "bob"}])
    assert await msg_flag_on_tencent(pair, gid, "alice") == "AcceptAndNotify"
    for name, flag in MSG_FLAGS.items():
        assert await alice.q(SET, {"g": gid, "o": name}) == {"setGroupReceiveMessageOpt": True}
        assert await msg_flag_on_tencent(pair, gid, "alice") == flag
        assert await recv_opt(alice, gid) == MessageOpt[name].value
    assert await msg_flag_on_tencent(pair, gid, "bob") == "AcceptAndNotify"  # only alice's changed


async def test_the_except_at_option_is_no_value_of_imqls_enum_and_changes_nothing(pair: Pair) -> None:
    """The SDK's V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE_EXCEPT_AT has no MsgFlag; imql's V2TIM_MessageOpt
    (the API catalogue's three values) does not have it either, so it is refused before anything."""
    alice = await member(pair.at_gateway, pair.gateway, "alice")
    gid = await alice.create("Work", "at me")
    assert await alice.q(SET, {"g": gid, "o": "V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE"})
    reply = await alice.call(SET, {"g": gid, "o": "V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE_EXCEPT_AT"})
    assert reply.errors
    assert "V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE_EXCEPT_AT" in reply.errors[0]["message"]
    assert await msg_flag_on_tencent(pair, gid, "alice") == "AcceptNotNotify"
    assert await recv_opt(alice, gid) == MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE.value


async def test_a_non_member_is_refused_and_nothing_changes_on_either_side(pair: Pair) -> None:
    bob = await member(pair.at_cloud, pair.cloud, "bob")
    alice = await member(pair.at_gateway, pair.gateway, "alice")
    gid = await bob.create("Public", "not alices", a="V2TIM_GROUP_ADD_ANY")
    reply = await alice.call(SET, {"g": gid, "o": "V2TIM_NOT_RECEIVE_MESSAGE"})
    assert reply.codes == [Code.ERR_NO_PERMISSION]
    assert await msg_flag_on_tencent(pair, gid, "alice") is None  # still no member there
    assert await msg_flag_on_tencent(pair, gid, "bob") == "AcceptAndNotify"
    assert await mirror_option(pair, "alice", gid) is None


async def test_a_refusal_by_tencent_leaves_the_mirrors_option_as_it_was(settings: Settings, redis_url: str) -> None:
    """The mirror still has alice in groups Tencent no longer has her in, or no longer has (their
    webhooks were lost): Tencent's refusal is answered and the mirror's option is not written."""
    lost = SUPPORTED_COMMANDS - {GROUP_AFTER_EXIT, GROUP_AFTER_DESTROY}
    async with running_pair(settings, redis_url, cloud_callbacks=lost) as pair:
        alice = await member(pair.at_gateway, pair.gateway, "alice")
        bob = await member(pair.at_cloud, pair.cloud, "bob")
        await alice.q('{ getUsersInfo(userIDList: ["bob"]) { userID } }')
        left = await bob.create("Work", "she was kicked", m=[{"userID": "alice"}])
        gone = await bob.create("Work", "dismissed", m=[{"userID": "alice"}])

        async def mirrored() -> bool:  # the mirror has both groups, with alice in them
            joined = (await alice.q("{ getJoinedGroupList { groupID } }"))["getJoinedGroupList"]
            return {left, gone} <= {g["groupID"] for g in joined}

        await eventually(mirrored)
        await pair.admin("group_open_http_svc/delete_group_member", {"GroupId": left, "MemberToDel_Account": ["alice"]})
        await pair.admin("group_open_http_svc/destroy_group", {"GroupId": gone})

        kicked = await alice.call(SET, {"g": left, "o": "V2TIM_NOT_RECEIVE_MESSAGE"})
        assert kicked.codes == [Code.ERR_GROUP_INVALID_PARAMETERS]  # the stand-in's answer, passed through
        assert "tencent 10004 (group_open_http_svc/modify_group_member_info)" in kicked.errors[0]["message"]
        dismissed = await alice.call(SET, {"g": gone, "o": "V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE"})
        assert dismissed.codes == [Code.ERR_GROUP_NOT_FOUND]
        assert "tencent 10010" in dismissed.errors[0]["message"]

        assert await msg_flag_on_tencent(pair, left, "alice") is None
        for gid in (left, gone):
            assert await mirror_option(pair, "alice", gid) is None


async def test_an_avchatroom_is_refused_before_tencent_is_asked(pair: Pair) -> None:
    bob = await member(pair.at_cloud, pair.cloud, "bob")
    alice = await member(pair.at_gateway, pair.gateway, "alice")
    gid = await bob.create("AVChatRoom", "live")
    reply = await alice.call(SET, {"g": gid, "o": "V2TIM_NOT_RECEIVE_MESSAGE"})
    assert reply.codes == [Code.ERR_SDK_INTERFACE_NOT_SUPPORT]
    message = reply.errors[0]["message"]
    assert message.startswith("not available on the Tencent backend: AVChatRoom members have no receive option")
    assert await mirror_option(pair, "alice", gid) is None


async def test_a_topics_option_is_refused_as_tencent_has_no_rest_for_it(pair: Pair) -> None:
    alice = await member(pair.at_gateway, pair.gateway, "alice")
    gid = await alice.create("Community", "with topics", topics=True)
    topic = f"{gid}@TOPIC#_news"
    reply = await alice.call(SET, {"g": topic, "o": "V2TIM_NOT_RECEIVE_MESSAGE"})
    assert reply.codes == [Code.ERR_SDK_INTERFACE_NOT_SUPPORT]
    assert reply.errors[0]["message"] == (
        "not available on the Tencent backend: Tencent documents no REST that sets a member's receive option in a topic"
    )
    assert await mirror_option(pair, "alice", topic) is None
    assert await msg_flag_on_tencent(pair, gid, "alice") == "AcceptAndNotify"  # the community's, untouched


async def test_the_gateways_push_follows_the_option_set(settings: Settings, redis_url: str, receiver: Receiver) -> None:
    """alice, on iOS with no app in the foreground, is pushed a native member's group message only
    while her option is V2TIM_RECEIVE_MESSAGE (the gateway's push planner reads the mirror's). dave,
    away too and never silenced, is the witness: one message's pushes are planned together, so his
    push of a message means alice's was decided too."""
    with_push = dataclasses.replace(settings, push_webhook_url=receiver.url, push_webhook_secret=PUSH_SECRET)
    async with running_pair(with_push, redis_url) as pair:
        carol = await member(pair.at_cloud, pair.cloud, "carol")
        alice = await user(pair.at_gateway, "alice")
        dave = await user(pair.at_gateway, "dave")
        gid = await carol.create("Public", "news", a="V2TIM_GROUP_ADD_ANY")
        for joining in (alice, dave):
            assert await joining.q(f'mutation {{ joinGroup(groupID: "{gid}", message: "") }}')
        assert await alice.q(SET, {"g": gid, "o": "V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE"})

        async def pushes_until(to: str, desc: str) -> list[tuple[str, str]]:
            seen: list[tuple[str, str]] = []
            while seen[-1:] != [(to, desc)]:
                body = await receiver.next_body()
                seen.append((body["toUserID"], body["content"]["desc"]))
            return seen

        assert (await carol.send(gid, "quietly")).ok()
        quiet = await pushes_until("dave", "quietly")
        assert await alice.q(SET, {"g": gid, "o": "V2TIM_RECEIVE_MESSAGE"})
        assert (await carol.send(gid, "loudly")).ok()
        loud = await pushes_until("alice", "loudly")
        assert ("alice", "quietly") not in quiet + loud
        assert quiet == [("dave", "quietly")]


# ---- on the wire ---------------------------------------------------------------------------------
class Recorder:
    """A Tencent answering `answers[endpoint]` (else OK) and keeping every request."""

    def __init__(self, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.answers = answers or {}
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.removeprefix("/v4/")
        self.seen.append((endpoint, orjson.loads(request.content)))
        return httpx.Response(200, content=orjson.dumps({**OK, **self.answers.get(endpoint, {})}))


def groups_on(tencent: Recorder, redis: Any, sdkappid: int) -> TencentGroups:
    client = TencentRestClient(sdkappid=APP, secret_key=SECRET, transport=httpx.MockTransport(tencent), max_attempts=1)
    return TencentGroups(client, OwnMessages(redis, Keys(sdkappid)), lambda ref: ref)


async def test_every_option_is_sent_as_its_b26_msgflag(redis_url: str, sdkappid: int) -> None:
    """Every value of imql's V2TIM_MessageOpt has a MsgFlag: an option added to the enum without
    one (the SDK's ..._EXCEPT_AT) fails here before it can reach Tencent unmapped."""
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        tencent = Recorder()
        up = groups_on(tencent, redis, sdkappid)
        for opt in MessageOpt:
            await up.set_receive_option("@TGS#2CLUZEAEJ", "bob", opt)
    finally:
        await redis.aclose()
    assert tencent.seen == [
        (
            "group_open_http_svc/modify_group_member_info",
            {"GroupId": "@TGS#2CLUZEAEJ", "Member_Account": "bob", "MsgFlag": MSG_FLAGS[opt.name]},
        )
        for opt in MessageOpt
    ]


async def test_an_imported_groups_member_list_carries_each_members_msgflag(redis_url: str, sdkappid: int) -> None:
    """get_group_member_info (B25) answers MsgFlag with each member at no extra call: it is read into
    the import's members (a row without one is Tencent's default)."""
    info = {"GroupId": "@TGS#1NVTZEAE4", "ErrorCode": 0, "Type": "Private", "Name": "g", "MemberNum": 3}
    rows = [
        {"Member_Account": "Test_1", "Role": "Owner", "MsgFlag": "AcceptNotNotify"},
        {"Member_Account": "Test_2", "Role": "Member", "MsgFlag": "Discard"},
        {"Member_Account": "Test_3", "Role": "Member"},
    ]
    tencent = Recorder(
        {
            "group_open_http_svc/get_group_info": {"GroupInfo": [info]},
            "group_open_http_svc/get_group_member_info": {"MemberNum": 3, "MemberList": rows},
        }
    )
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        (group,) = await groups_on(tencent, redis, sdkappid).fetch_groups(["@TGS#1NVTZEAE4"])
    finally:
        await redis.aclose()
    assert [(m.user_id, m.receive_option) for m in group.members] == [
        ("Test_1", MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE),
        ("Test_2", MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE),
        ("Test_3", MessageOpt.V2TIM_RECEIVE_MESSAGE),
    ]


async def test_a_group_imported_from_tencent_keeps_each_members_msgflag(settings: Settings, redis_url: str) -> None:
    """A group the mirror first meets on a member's request (its create webhook lost) is imported
    with each member's MsgFlag as Tencent has it: Discard is applied to the member's subscriptions
    (the group's messages do not reach them), AcceptNotNotify is kept for the push planner."""
    from gateway.v4.callbacks import GROUP_AFTER_CREATE

    async with running_pair(settings, redis_url, cloud_callbacks=SUPPORTED_COMMANDS - {GROUP_AFTER_CREATE}) as pair:
        alice = await member(pair.at_gateway, pair.gateway, "alice")
        carol = await member(pair.at_gateway, pair.gateway, "carol")
        bob = await member(pair.at_cloud, pair.cloud, "bob")
        gid = await bob.create("Work", "set upstream", m=[{"userID": "alice"}, {"userID": "carol"}])
        for user, flag in (("alice", "Discard"), ("carol", "AcceptNotNotify")):
            answer = await pair.admin(
                "group_open_http_svc/modify_group_member_info",
                {"GroupId": gid, "Member_Account": user, "MsgFlag": flag},
            )
            assert answer["ErrorCode"] == 0, answer
        assert await mirror_option(pair, "alice", gid) is None  # the mirror has not met the group yet
        assert (await info(alice, gid))["groupInfo"]["groupID"] == gid  # imported now

        assert await mirror_option(pair, "alice", gid) == str(MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE.value)
        assert await mirror_option(pair, "carol", gid) == str(MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE.value)
        assert await recv_opt(alice, gid) == MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE.value
        for text in ("one", "two"):
            assert (await bob.send(gid, text)).codes == []

        async def carol_has_both() -> bool:
            got.extend(m["textElem"]["text"] for m in await carol.messages() if m.get("textElem"))
            return got[-2:] == ["one", "two"]

        got: list[str] = []
        await eventually(carol_has_both)
        assert await alice.messages() == []
