"""Hostile REST v4 fields: what an adversarial review found, each kept as a guard.

Standard (CONTRACT.md section 3, gateway/web/rest.py docstring, FIXTURES.md A2): a bad request is
answered with Tencent's envelope and the calling service's own invalid-parameter code (openim 90009,
groups 10004, sns 30001, profile 40001/40605/40610, recentcontact 50002, MsgKey 90054), never
with 70500 "internal error" (the catch-all for exceptions the handler did not foresee) nor 7012
"the IM store did not answer; retry shortly" (a Redis error); and a refused request changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.rest.conftest import RestClient
from tests.support.clients import HTTPClient

TEXT = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]
INTERNAL = 70500  # gateway.v4.envelope.SERVER_INTERNAL: an unhandled exception in the handler
STORE_DOWN = 7012  # gateway's "the IM store did not answer; retry shortly" (a Redis error)
SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() is True, int() refuses it


async def setup(rest: RestClient) -> str:
    """alice, bob and carol; a Public group owned by alice with bob in it; its id."""
    for user in ("alice", "bob", "carol"):
        await rest.ok("im_open_login_svc/account_import", {"UserID": user})
    created = await rest.ok(
        "group_open_http_svc/create_group",
        {"Type": "Public", "Name": "g", "Owner_Account": "alice", "MemberList": [{"Member_Account": "bob"}]},
    )
    gid: str = created["GroupId"]
    return gid


def refused_as_bad_input(answer: dict[str, Any], code: int) -> None:
    assert answer["ActionStatus"] == "FAIL", answer
    assert answer["ErrorCode"] == code, answer


# ---- 1. Body.integer: a string that passes `isdigit()` but that int() refuses --------------------
@pytest.mark.parametrize(
    ("command", "body", "code"),
    [
        ("openim/sendmsg", {"From_Account": "alice", "To_Account": "bob", "MsgBody": TEXT, "MsgRandom": "--5"}, 90009),
        (
            "openim/sendmsg",
            {"From_Account": "alice", "To_Account": "bob", "MsgBody": TEXT, "MsgLifeTime": SUPERSCRIPT_TWO},
            90009,
        ),
        ("openconfigsvr/setnospeaking", {"Set_Account": "bob", "C2CmsgNospeakingTime": "--5"}, 90009),
        ("sns/friend_get", {"From_Account": "alice", "StartIndex": SUPERSCRIPT_TWO}, 30001),
        ("recentcontact/get_contact_group", {"From_Account": "alice", "StartIndex": "--1"}, 50002),
        (
            "openim/sendmsg",  # nested too: every integer read by gateway.v4.fields.Body
            {
                "From_Account": "alice",
                "To_Account": "bob",
                "MsgBody": [{"MsgType": "TIMFaceElem", "MsgContent": {"Index": SUPERSCRIPT_TWO}}],
            },
            90002,
        ),
    ],
    ids=["msgrandom-double-minus", "lifetime-superscript", "nospeaking", "friend_get", "contact_group", "face-index"],
)
async def test_integer_fields_that_only_look_numeric_are_refused_with_the_services_code(
    rest: RestClient, command: str, body: dict[str, Any], code: int
) -> None:
    """An integer field given as a string is accepted when it holds digits (fields.py docstring);
    "--5" or "²" is not an integer and must be refused with the service's invalid-parameter code.
    `Body.integer` once checked `value.strip().lstrip("-").isdigit()` (true for "--5" and for
    Unicode digits such as "²") and then called int(), whose ValueError escaped as 70500."""
    await setup(rest)
    refused_as_bad_input(await rest.call(command, body), code)


async def test_a_group_integer_field_that_only_looks_numeric_is_10004(rest: RestClient) -> None:
    """Same defect on the group service: send_group_msg `Random: "²"` must be 10004 (ERRORS.md:
    "10004 invalid parameter for a group API"), not 70500; nothing is sent."""
    gid = await setup(rest)
    body = {"GroupId": gid, "From_Account": "alice", "Random": SUPERSCRIPT_TWO, "MsgBody": TEXT}
    refused_as_bad_input(await rest.call("group_open_http_svc/send_group_msg", body), 10004)
    history = await rest.ok("group_open_http_svc/group_msg_get_simple", {"GroupId": gid, "ReqMsgNumber": 20})
    assert all(m["IsPlaceMsg"] or m["IsSystemMsg"] for m in history["RspMsgList"]), history


# ---- 2. Body.choice: a list or object where an enumeration string is expected --------------------
@pytest.mark.parametrize(
    ("command", "body", "code"),
    [
        ("group_open_http_svc/create_group", {"Type": [], "Name": "g"}, 10004),
        ("group_open_http_svc/create_group", {"Type": "Public", "Name": "g", "ApplyJoinOption": {}}, 10004),
        ("group_open_http_svc/get_joined_group_list", {"Member_Account": "bob", "GroupType": ["Public"]}, 10004),
        (
            "sns/friend_add",
            {
                "From_Account": "alice",
                "AddFriendItem": [{"To_Account": "bob", "AddSource": "AddSource_Type_Web"}],
                "AddType": ["Add_Type_Both"],
            },
            30001,
        ),
        ("sns/group_get", {"From_Account": "alice", "NeedFriend": {}}, 30001),
    ],
    ids=["create-type", "create-joinoption", "joined-grouptype", "friend_add-addtype", "group_get-needfriend"],
)
async def test_enumeration_fields_given_a_list_or_object_are_refused_with_the_services_code(
    rest: RestClient, command: str, body: dict[str, Any], code: int
) -> None:
    """`Type`, `ApplyJoinOption`, `GroupType`, `AddType`, `NeedFriend`, ... are strings naming one
    of Tencent's values; a JSON list or object there is a malformed request (10004 / 30001). `Body.choice`
    once evaluated `value not in choices` on a dict, so an unhashable value raised TypeError:
    70500 "internal error"."""
    await setup(rest)
    refused_as_bad_input(await rest.call(command, body), code)


# ---- 3. MsgKey and profile integers: the same isdigit()/int() mismatch ---------------------------
@pytest.mark.parametrize(
    "key", ["1_" + SUPERSCRIPT_TWO + "_3", "9" * 5000 + "_1_1"], ids=["superscript", "5000-digits"]
)
async def test_a_malformed_msgkey_is_90054(rest: RestClient, key: str) -> None:
    """A MsgKey that is not `<seq>_<random>_<time>` is refused with 90054 (BACKGROUND.md "90054 bad
    MsgKey on recall"; MAPPING.md #40 and the code table: "20022, 20023, 90054 ... bad MsgKey").
    `parse_msg_key` (gateway/v4/identity.py) once took any part whose isdigit() was true, and
    int() then raised (a Unicode digit, or over Python's 4300-digit limit): 70500."""
    await setup(rest)
    answer = await rest.call("openim/admin_msgwithdraw", {"From_Account": "alice", "To_Account": "bob", "MsgKey": key})
    refused_as_bad_input(answer, 90054)


async def test_a_profile_integer_tag_given_a_superscript_digit_is_a_bad_value(rest: RestClient) -> None:
    """portrait_set `Tag_Profile_IM_Level: "²"` is a value of the wrong type: 40610 (MAPPING.md #15
    and the profile codes: "40605/40610 bad value or type"; gateway/v4/profile.py docstring). `_uint`
    once did `value.isdigit()` then int(): ValueError, 70500. Nothing is written."""
    await setup(rest)
    body = {"From_Account": "bob", "ProfileItem": [{"Tag": "Tag_Profile_IM_Level", "Value": SUPERSCRIPT_TWO}]}
    answer = await rest.call("profile/portrait_set", body)
    assert answer["ActionStatus"] == "FAIL", answer
    assert answer["ErrorCode"] in (40001, 40605, 40610), answer


# ---- 4. paging cursors ---------------------------------------------------------------------------
async def test_get_group_member_info_refuses_a_next_that_is_no_cursor(rest: RestClient) -> None:
    """`Next` must be "" or the Next of the previous page (FIXTURES.md B25; the handler says so in
    its own refusal). "²" passes the handler's `cursor.isdigit()` check and goes to Redis as a
    ZRANGEBYSCORE bound, which Redis rejects: 70500 instead of 10004."""
    gid = await setup(rest)
    answer = await rest.call("group_open_http_svc/get_group_member_info", {"GroupId": gid, "Next": SUPERSCRIPT_TWO})
    refused_as_bad_input(answer, 10004)


@pytest.mark.parametrize("cursor", [SUPERSCRIPT_TWO, "9" * 30], ids=["superscript", "beyond-int64"])
async def test_get_group_msg_receipt_detail_refuses_a_cursor_that_is_no_cursor(rest: RestClient, cursor: str) -> None:
    """`Cursor` is "" or the Cursor of the previous answer (FIXTURES.md B31). "²" makes int()
    raise (70500); a 30-digit cursor reaches Redis out of range and is answered 7012 "the IM store
    did not answer; retry shortly", telling the app to retry a request that can never succeed.
    Both are malformed requests: 10004."""
    gid = await setup(rest)
    sent = await rest.ok(
        "group_open_http_svc/send_group_msg",
        {"GroupId": gid, "From_Account": "alice", "Random": 1, "MsgBody": TEXT, "NeedReadReceipt": 1},
    )
    body = {"GroupId": gid, "MsgSeq": sent["MsgSeq"], "Filter": 0, "Count": 5, "Cursor": cursor}
    refused_as_bad_input(await rest.call("group_open_http_svc/get_group_msg_receipt_detail", body), 10004)


# ---- 5. group counters ---------------------------------------------------------------------------
async def test_a_refused_update_group_counter_changes_no_counter(rest: RestClient) -> None:
    """update_group_counter (FIXTURES.md B29) with Mode Increase and two keys, where the second
    cannot be increased (it would leave the 32-bit range the members read counters in): the call
    fails with 10004, and neither counter changes (it once increased "a" one HINCRBY at a time,
    then failed on "b" with 7012 "retry shortly", and each retry increased "a" again)."""
    gid = await setup(rest)
    update = "group_open_http_svc/update_group_counter"
    start = [{"Key": "a", "Value": 0}, {"Key": "b", "Value": 2**31 - 1}]
    await rest.ok(update, {"GroupId": gid, "Mode": "Set", "GroupCounter": start})
    both = [{"Key": "a", "Value": 1}, {"Key": "b", "Value": 1}]
    answer = await rest.call(update, {"GroupId": gid, "Mode": "Increase", "GroupCounter": both})
    refused_as_bad_input(answer, 10004)
    counters = await rest.ok("group_open_http_svc/get_group_counter", {"GroupId": gid})
    assert {c["Key"]: c["Value"] for c in counters["GroupCounter"]} == {"a": 0, "b": 2**31 - 1}, answer
    down = [{"Key": "a", "Value": 1}, {"Key": "b", "Value": 2}]
    decreased = await rest.ok(update, {"GroupId": gid, "Mode": "Decrease", "GroupCounter": down})
    assert decreased["GroupCounter"] == [{"Key": "a", "Value": -1}, {"Key": "b", "Value": 2**31 - 3}]


@pytest.mark.parametrize("value", [3_000_000_000, -3_000_000_000, 2**64 - 1])
async def test_a_counter_value_the_members_cannot_read_is_refused(
    rest: RestClient, client: HTTPClient, value: int
) -> None:
    """Members read counters through GraphQL, where `GroupCounter.value` is `Int!` (32-bit): a value
    the REST API stored outside that range once made every member's getGroupCounters fail as a
    whole. update_group_counter Mode Set refuses it (10004) and stores nothing."""
    gid = await setup(rest)
    answer = await rest.call(
        "group_open_http_svc/update_group_counter",
        {"GroupId": gid, "Mode": "Set", "GroupCounter": [{"Key": "likes", "Value": value}]},
    )
    refused_as_bad_input(answer, 10004)
    token = await client.login("alice")
    reply = await client.gql(
        "query($g: String!) { getGroupCounters(groupID: $g) { key value } }", {"g": gid}, token=token
    )
    assert reply.errors == [], reply.errors
    assert reply.data["getGroupCounters"] == []


# ---- 6. documented answer fields ------------------------------------------------------------------
async def test_get_group_member_info_answers_when_each_member_last_sent(rest: RestClient) -> None:
    """FIXTURES.md B25: each member carries LastSendMsgTime (MAPPING.md #71), asked for by
    MemberInfoFilter or answered with no filter: when they last sent to the group, 0 for never."""
    gid = await setup(rest)
    sent = await rest.ok(
        "group_open_http_svc/send_group_msg",
        {"GroupId": gid, "From_Account": "bob", "Random": 7, "MsgBody": TEXT},
    )
    b25 = {
        "GroupId": gid,
        "MemberInfoFilter": ["Role", "JoinTime", "MsgSeq", "MsgFlag", "LastSendMsgTime", "MuteUntil", "NameCard"],
        "Limit": 100,
        "Offset": 0,
    }
    for body in (b25, {"GroupId": gid}):
        page = await rest.ok("group_open_http_svc/get_group_member_info", body)
        last = {m["Member_Account"]: m["LastSendMsgTime"] for m in page["MemberList"]}
        assert last == {"alice": 0, "bob": sent["MsgTime"]}, page
    narrow = await rest.ok("group_open_http_svc/get_group_member_info", {**b25, "MemberInfoFilter": ["Role"]})
    assert all("LastSendMsgTime" not in m for m in narrow["MemberList"]), narrow


@pytest.mark.parametrize(
    "content",
    [
        {
            "MsgType": "TIMImageElem",
            "MsgContent": {"UUID": "u", "ImageInfoArray": [{"Type": 1, "URL": "javascript:alert(1)"}]},
        },
        {"MsgType": "TIMFileElem", "MsgContent": {"Url": "file:///etc/passwd", "FileName": "f"}},
        {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 2**40}},
        {"MsgType": "TIMSoundElem", "MsgContent": {"Url": "https://example.com/a.m4a", "Second": 2**31}},
    ],
    ids=["javascript-url", "file-url", "face-index-past-32-bits", "duration-past-32-bits"],
)
async def test_a_message_body_the_graph_could_not_carry_is_refused(rest: RestClient, content: dict[str, Any]) -> None:
    """MsgBody media are http(s) URLs, as the SDK's create*Message paths take them (README: "Media
    are uploads or http(s) URLs": a receiver's client opens what a message names), and its numbers
    fit the GraphQL Ints the receivers read them as (a face index of 2^40 once made every reader's
    history fail). 90002, nothing sent."""
    await setup(rest)
    body = {"From_Account": "alice", "To_Account": "bob", "MsgRandom": 1, "MsgBody": [content]}
    refused_as_bad_input(await rest.call("openim/sendmsg", body), 90002)
    roam = await rest.ok(
        "openim/admin_getroammsg",
        {"Operator_Account": "bob", "Peer_Account": "alice", "MaxCnt": 10, "MinTime": 0, "MaxTime": 2**31 - 1},
    )
    assert roam.get("MsgList", []) == [], roam
