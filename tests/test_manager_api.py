"""V2TIMManager APIs and the sdkListener callbacks, end to end over real HTTP and WebSocket."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.errors import Code
from gateway.session.presence import LEASE_SECONDS, REAP_SECONDS
from tests.support.clients import HTTPClient, listen_sdk
from tests.support.servers import InProcessGateway

PROFILE = "userID nickName faceUrl selfSignature gender allowType role level birthday customInfo { key value }"
SET_INFO = f"""
mutation($nick: String, $face: String, $sign: String, $gender: V2TIM_Gender, $allow: V2TIM_Allowtype,
         $role: Int, $level: Int, $birthday: Int, $custom: [KeyValueInput!]) {{
  setSelfInfo(nickName: $nick, faceURL: $face, selfSignature: $sign, gender: $gender, allowType: $allow,
              role: $role, level: $level, birthday: $birthday, customInfo: $custom) {{ {PROFILE} }}
}}"""


async def profile(client: HTTPClient, token: str, user: str) -> dict[str, Any]:
    reply = await client.gql(f'{{ getUsersInfo(userIDList: ["{user}"]) {{ {PROFILE} }} }}', token=token)
    return dict(reply.ok()["getUsersInfo"][0])


async def test_sdk_set_up_queries(client: HTTPClient, clock: ManualClock) -> None:
    reply = await client.gql(f'mutation {{ initSDK(sdkAppID: "{client.sdkappid}") }}')
    assert reply.ok() == {"initSDK": True}
    reply = await client.gql(f"mutation {{ initSDK(sdkAppID: {client.sdkappid}, logLevel: V2TIM_LOG_DEBUG) }}")
    assert reply.ok() == {"initSDK": True}
    assert (await client.gql("mutation { initSDK(sdkAppID: 1400000001) }")).codes == [Code.ERR_SDK_NOT_INITIALIZED]
    assert (await client.gql('mutation { initSDK(sdkAppID: "abc") }')).codes == [Code.ERR_INVALID_PARAMETERS]
    data = (await client.gql("{ getVersion getServerTime }")).ok()
    assert data["getVersion"].startswith("imql ")
    assert data["getServerTime"] == int(clock.now())


async def test_set_self_info_changes_the_profile_and_notifies_every_device(
    client: HTTPClient, server: InProcessGateway
) -> None:
    phone = await client.login("alice", platform="ios")
    laptop = await client.login("alice", platform="web")
    (ws_phone, op_phone), (ws_laptop, op_laptop) = (
        await listen_sdk(server.ws_url, phone),
        await listen_sdk(server.ws_url, laptop),
    )
    before = await profile(client, laptop, "alice")
    variables = {
        "nick": "Alice",
        "face": "https://example.com/a.png",
        "sign": "hello",
        "gender": "V2TIM_GENDER_FEMALE",
        "allow": "V2TIM_FRIEND_ALLOW_ANY",
        "role": 3,
        "level": 7,
        "birthday": 19900101,
        "custom": [{"key": "city", "value": "Shenzhen"}],
    }
    returned = (await client.gql(SET_INFO, variables, token=laptop)).ok()["setSelfInfo"]
    after = await profile(client, phone, "alice")
    assert returned == [after]
    assert after["nickName"] == "Alice"
    assert after["gender"] == "V2TIM_GENDER_FEMALE"
    assert after["customInfo"] == [{"key": "city", "value": "Shenzhen"}]
    for ws, op in ((ws_phone, op_phone), (ws_laptop, op_laptop)):
        event = await ws.next_event(op)
        assert event["type"] == "onSelfInfoUpdated"
        # convergence: the state before, with the event applied, is the state read after
        assert {**before, **event["info"]} == after
    # a partial change keeps the other fields and merges customInfo key by key
    partial = {"nick": "Al", "custom": [{"key": "lang", "value": "zh"}]}
    again = (await client.gql(SET_INFO, partial, token=phone)).ok()["setSelfInfo"][0]
    assert again["selfSignature"] == "hello"
    assert again["customInfo"] == [{"key": "city", "value": "Shenzhen"}, {"key": "lang", "value": "zh"}]
    await ws_phone.close()
    await ws_laptop.close()


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"nick": "n" * 501}, Code.ERR_PROFILE_FIELD_TOO_LONG),
        ({"face": "f" * 501}, Code.ERR_PROFILE_FIELD_TOO_LONG),
        ({"sign": "语" * 200}, Code.ERR_PROFILE_FIELD_TOO_LONG),  # 600 bytes in UTF-8
        ({"custom": [{"key": "k", "value": "v" * 501}]}, Code.ERR_PROFILE_FIELD_TOO_LONG),
        ({"custom": [{"key": "toolongkey", "value": "v"}]}, Code.ERR_INVALID_PARAMETERS),
        ({"custom": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]}, Code.ERR_INVALID_PARAMETERS),
        ({"role": -1}, Code.ERR_INVALID_PARAMETERS),
        ({"birthday": 19901340}, Code.ERR_INVALID_PARAMETERS),
        ({"gender": "V2TIM_GENDER_OTHER"}, Code.ERR_INVALID_PARAMETERS),
        ({"role": "three"}, Code.ERR_INVALID_PARAMETERS),
        ({"level": 2**40}, Code.ERR_INVALID_PARAMETERS),
    ],
)
async def test_bad_profile_changes_are_refused_and_store_nothing(
    client: HTTPClient, variables: dict[str, Any], code: int
) -> None:
    token = await client.login("alice")
    (await client.gql(SET_INFO, {"nick": "Before", "custom": [{"key": "a", "value": "b"}]}, token=token)).ok()
    before = await profile(client, token, "alice")
    reply = await client.gql(SET_INFO, {"sign": "changed", **variables}, token=token)
    assert reply.codes == [code]
    assert reply.errors[0]["extensions"]["desc"]
    assert await profile(client, token, "alice") == before


async def test_get_users_info_validates_ids_and_skips_unknown_users(client: HTTPClient) -> None:
    token = await client.login("alice")
    await client.login("bob")
    reply = await client.gql('{ getUsersInfo(userIDList: ["bob", "ghost", "alice", "bob"]) { userID } }', token=token)
    assert reply.ok()["getUsersInfo"] == [{"userID": "bob"}, {"userID": "alice"}]
    assert (await client.gql('{ getUsersInfo(userIDList: [""]) { userID } }', token=token)).codes == [7003]
    many = ", ".join(f'"u{i}"' for i in range(101))
    assert (await client.gql(f"{{ getUsersInfo(userIDList: [{many}]) {{ userID }} }}", token=token)).codes == [6017]
    assert (await client.gql("{ getUsersInfo(userIDList: []) { userID } }", token=token)).codes == [6017]


STATUS = "{ getUserStatus(userIDList: %s) { userID statusType customStatus } }"


async def test_user_status_follows_sessions_and_subscriptions(
    client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    watcher = await client.login("watcher")
    ws_watcher, op_watcher = await listen_sdk(server.ws_url, watcher)
    await client.login("idle")  # logged in, never subscribes
    reply = await client.gql(STATUS % '["bob", "idle", "nobody"]', token=watcher)
    assert [s["statusType"] for s in reply.ok()["getUserStatus"]] == [
        "V2TIM_USER_STATUS_UNKNOWN",
        "V2TIM_USER_STATUS_OFFLINE",
        "V2TIM_USER_STATUS_UNKNOWN",
    ]
    assert (await client.gql('mutation { subscribeUserStatus(userIDList: ["bob"]) }', token=watcher)).ok()
    bob = await client.login("bob")
    assert (await client.gql(STATUS % '["bob"]', token=watcher)).ok()["getUserStatus"][0]["statusType"] == (
        "V2TIM_USER_STATUS_OFFLINE"
    )
    ws_bob, op_bob = await listen_sdk(server.ws_url, bob)
    online = await ws_watcher.next_event(op_watcher)
    assert online["type"] == "onUserStatusChanged"
    assert online["statusList"] == [{"userID": "bob", "statusType": "V2TIM_USER_STATUS_ONLINE", "customStatus": ""}]
    # a custom status reaches the watcher and bob's own devices
    assert (await client.gql('mutation { setSelfStatus(status: "in a meeting") }', token=bob)).ok()
    for ws, op in ((ws_watcher, op_watcher), (ws_bob, op_bob)):
        changed = await ws.next_event(op)
        assert changed["statusList"][0]["customStatus"] == "in a meeting"
    read = (await client.gql(STATUS % '["bob"]', token=watcher)).ok()["getUserStatus"][0]
    assert read == changed["statusList"][0]  # convergence: the event equals the state read after
    await ws_bob.stop(op_bob)
    offline = await ws_watcher.next_event(op_watcher)
    assert offline["statusList"][0]["statusType"] == "V2TIM_USER_STATUS_OFFLINE"
    # after logout the account is UNLOGINED
    await client.gql("mutation { logout }", token=bob)
    read = (await client.gql(STATUS % '["bob"]', token=watcher)).ok()["getUserStatus"][0]
    assert read["statusType"] == "V2TIM_USER_STATUS_UNLOGINED"
    # unsubscribing stops the notifications
    assert (await client.gql("mutation { unsubscribeUserStatus }", token=watcher)).ok()
    bob = await client.login("bob")
    ws_bob2, _ = await listen_sdk(server.ws_url, bob)
    await ws_watcher.nothing_for(op_watcher, 0.5)
    for ws in (ws_watcher, ws_bob, ws_bob2):
        await ws.close()


async def test_crashed_replica_leases_lapse_and_the_user_goes_offline(
    client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    watcher = await client.login("watcher")
    ws, op = await listen_sdk(server.ws_url, watcher)
    await client.gql('mutation { subscribeUserStatus(userIDList: ["ghost"]) }', token=watcher)
    await client.login("ghost")
    gw = server.gateway
    # a lease left by a replica that died without cleaning up
    await gw.presence.enter("ghost", "dead-replica:1")
    gw.presence._local.pop("dead-replica:1")
    assert (await ws.next_event(op))["statusList"][0]["statusType"] == "V2TIM_USER_STATUS_ONLINE"
    await clock.advance(LEASE_SECONDS + REAP_SECONDS + 1)
    assert (await ws.next_event(op))["statusList"][0]["statusType"] == "V2TIM_USER_STATUS_OFFLINE"
    await ws.close()


async def test_status_limits(client: HTTPClient) -> None:
    token = await client.login("alice")
    long_status = "s" * 101
    assert (await client.gql(f'mutation {{ setSelfStatus(status: "{long_status}") }}', token=token)).codes == [6017]
    assert (await client.gql('mutation { subscribeUserStatus(userIDList: ["bad id\\n"]) }', token=token)).codes == [
        7003
    ]


async def test_every_api_needing_a_session_refuses_without_one(client: HTTPClient) -> None:
    for document in [
        "{ getLoginUser }",
        "{ getLoginStatus }",
        '{ getUsersInfo(userIDList: ["a"]) { userID } }',
        '{ getUserStatus(userIDList: ["a"]) { userID } }',
        "mutation { logout }",
        'mutation { setSelfInfo(nickName: "x") { userID } }',
        'mutation { setSelfStatus(status: "x") }',
        'mutation { subscribeUserStatus(userIDList: ["a"]) }',
        "mutation { unsubscribeUserStatus }",
    ]:
        assert (await client.gql(document)).codes == [Code.ERR_SDK_NOT_LOGGED_IN], document
