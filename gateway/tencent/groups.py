"""The Tencent Cloud backend's group writes and group reads for the mirror: `GroupsUpstream` over REST v4.

Each write is one REST call under `group_open_http_svc` made as the app admin (the engine checked the
SDK's rules first: REST checks none for the admin, MAPPING.md section 1.2). Tencent's callbacks about
these writes come back as echoes. Each write is recorded as the gateway's own once Tencent took it
(`OwnMessages`: messages by `group_echo_key`, membership and profile writes by `group_action_key`),
so the inbound worker drops its echo, even one delayed past later changes it would undo. An echo
that arrives before the record is made waits for the mirror write (the engine's upstream turn) and
then changes nothing: the mirror's appliers compare with the mirror and write only what differs
(gateway.tencent.mirror_groups).

Reads serve the mirror's imports only (`fetch_groups`: a group it has never seen, with every member,
paged as Tencent pages; `joined_group_ids`): the SDK's reads are answered from the mirror.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from gateway.digits import lenient_int
from gateway.ids import topic_parent
from gateway.im.enums import GroupAdd, GroupMemberRole, GroupType, MessageOpt, Priority
from gateway.im.groups import CreateGroupMember, GroupInfo, GroupInfoChanges
from gateway.im.messages import Content, StoredMessage
from gateway.tencent.client import Answer, TencentRestClient, bad_answer
from gateway.tencent.errors import tencent_error
from gateway.tencent.inbound import (
    GROUP_ATTR,
    GROUP_CARD,
    GROUP_CREATE,
    GROUP_DESTROY,
    GROUP_EXIT,
    GROUP_INFO,
    GROUP_JOIN,
    GROUP_OWNER,
    GROUP_ROLE,
    MODIFY,
    RECALL,
    SEND,
    OwnMessages,
    group_action_key,
    group_echo_key,
)
from gateway.tencent.send_options import send_options
from gateway.tencent.topics import supports_topics
from gateway.upstream import GroupsUpstream, UpstreamGroup, UpstreamMember, UpstreamSent
from gateway.v4.groups import (
    GROUP_TYPES,
    JOIN_OPTION_NAMES,
    JOIN_OPTIONS,
    MSG_FLAG_NAMES,
    MSG_FLAGS,
    ROLE_NAMES,
    ROLES,
    TYPE_NAMES,
)
from gateway.v4.msgbody import msgbody_from_content

SVC = "group_open_http_svc"
ATTR_SVC = "group_open_attr_http_svc"  # get_group_attr lives here (MAPPING.md #69)
COUNTER_MODES = ("Set", "Increase", "Decrease")
GROUP_INFO_IDS_MAX = 50  # GroupIdList per get_group_info
MEMBER_PAGE = 6000  # get_group_member_info Limit (Tencent's cap)
JOINED_PAGE = 5000  # get_joined_group_list Limit (Tencent's cap)
ADD_MEMBERS_MAX = 300  # add_group_member MemberList
DELETE_MEMBERS_MAX = 100  # delete_group_member MemberToDel_Account
FORBID_MEMBERS_MAX = 500  # forbid_send_msg Members_Account
ADDED, ALREADY = 1, 2  # add_group_member Result: 1 added, 2 a member already (0 failed, 3 awaiting approval)
BASE_INFO = [
    "Type",
    "Name",
    "Introduction",
    "Notification",
    "FaceUrl",
    "Owner_Account",
    "CreateTime",
    "LastInfoTime",
    "NextMsgSeq",
    "MemberNum",
    "MaxMemberNum",
    "ApplyJoinOption",
    "MuteAllMember",
]
PRIORITY_NAMES = {
    Priority.V2TIM_PRIORITY_HIGH: "High",
    Priority.V2TIM_PRIORITY_NORMAL: "Normal",
    Priority.V2TIM_PRIORITY_LOW: "Low",
}
AT_ALL = "__kImSDK_MesssageAtALL__"  # the SDK's @ALL mark in groupAtUserList
MediaUrl = Callable[[str], str]


def group_and_topic(timeline: str) -> dict[str, str]:
    """GroupId, plus TopicId when the timeline is a community's topic (topic IDs name their community)."""
    parent = topic_parent(timeline)
    return {"GroupId": parent, "TopicId": timeline} if parent else {"GroupId": timeline}


def _key_values(data: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in data.items()]


def _read_key_values(raw: Any) -> dict[str, str]:
    if not isinstance(raw, list):
        return {}
    return {str(i["Key"]): str(i.get("Value", "")) for i in raw if isinstance(i, dict) and "Key" in i}


def _counters(items: list[dict[str, Any]]) -> dict[str, int]:
    return {str(c["Key"]): lenient_int(c.get("Value")) for c in items if "Key" in c}


class TencentGroups(GroupsUpstream):
    def __init__(self, client: TencentRestClient, own: OwnMessages, media_url: MediaUrl) -> None:
        self._client = client
        self._own_messages = own
        self._media_url = media_url

    @property
    def admin(self) -> str:
        """The admin identifier the gateway calls Tencent as: the sender of the app admin's own
        group messages, which `send_group_message` sends without From_Account, and which Tencent's
        Group.CallbackAfterSendMsg names as their From_Account (the admin calling)."""
        return self._client.admin

    async def _call(self, command: str, body: dict[str, Any], *, idempotent: bool = True) -> Answer:
        return await self._client.call(f"{SVC}/{command}", body, idempotent=idempotent)

    async def _own(self, action: str, group_id: str, parts: Sequence[Sequence[str]] = ((),)) -> None:
        """Record the write's echo keys: one per member or field the callback will name."""
        for part in parts:
            await self._own_messages.record_own_message(group_action_key(action, group_id, *part))

    # ---- lifecycle --------------------------------------------------------------------------------
    async def create_group(self, owner: str, info: GroupInfo, members: Sequence[CreateGroupMember]) -> str:
        body: dict[str, Any] = {
            "Owner_Account": owner,
            "Type": TYPE_NAMES[info.groupType],
            "Name": info.groupName,
        }
        if info.groupID:
            body["GroupId"] = info.groupID
        for name, value in (
            ("Introduction", info.introduction),
            ("Notification", info.notification),
            ("FaceUrl", info.faceUrl),
        ):
            if value:
                body[name] = value
        if info.groupType == GroupType.V2TIM_GROUP_TYPE_PUBLIC:  # the other types' join rule is fixed
            body["ApplyJoinOption"] = JOIN_OPTION_NAMES[info.addOpt]
        if info.isSupportTopic:
            body["SupportTopic"] = 1
        if members:
            body["MemberList"] = [
                {"Member_Account": m.userID, **({"Role": "Admin"} if m.role == ROLES["Admin"] else {})} for m in members
            ]
        # a custom ID makes a resent create answer 10021 (taken), so only those are retried
        answer = await self._call("create_group", body, idempotent=bool(info.groupID))
        group_id = answer.get("GroupId")
        if not isinstance(group_id, str) or not group_id:
            raise bad_answer(f"{SVC}/create_group", "no GroupId")
        await self._own(GROUP_CREATE, group_id)
        await self._own(GROUP_JOIN, group_id, [(m.userID,) for m in members])
        if info.isAllMuted:  # create_group takes no MuteAllMember (MAPPING.md #9): a second call
            try:
                await self._call("modify_group_base_info", {"GroupId": group_id, "MuteAllMember": "On"})
            except BaseException:
                # a refused create leaves nothing: not an unmuted group the caller believes was
                # never made (and makes again on a retry)
                with contextlib.suppress(Exception):
                    await self.destroy_group(group_id)
                raise
        return group_id

    async def destroy_group(self, group_id: str) -> None:
        await self._call("destroy_group", {"GroupId": group_id})
        await self._own(GROUP_DESTROY, group_id)

    async def set_group_info(self, group_id: str, changes: GroupInfoChanges) -> None:
        """modify_group_base_info of what Tencent keeps: approveOpt (InviteJoinOption, unconfirmed
        on Tencent's side) stays the gateway's."""
        body: dict[str, Any] = {"GroupId": group_id}
        for name, value in (
            ("Name", changes.groupName),
            ("Introduction", changes.introduction),
            ("Notification", changes.notification),
            ("FaceUrl", changes.faceUrl),
        ):
            if value is not None:
                body[name] = value
        if changes.addOpt is not None:
            body["ApplyJoinOption"] = JOIN_OPTION_NAMES[changes.addOpt]
        if changes.isAllMuted is not None:
            body["MuteAllMember"] = "On" if changes.isAllMuted else "Off"
        if len(body) > 1:
            await self._call("modify_group_base_info", body)
            fields = ("Name", "Introduction", "Notification", "FaceUrl")
            await self._own(GROUP_INFO, group_id, [(name, str(body[name])) for name in fields if name in body])

    async def change_owner(self, group_id: str, new_owner: str) -> None:
        await self._call("change_group_owner", {"GroupId": group_id, "NewOwner_Account": new_owner})
        await self._own(GROUP_OWNER, group_id, [(new_owner,)])

    # ---- members ----------------------------------------------------------------------------------
    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> set[str]:
        """Silence 0: native members hear of it (as an invitation by the admin, MAPPING.md #10)."""
        members: set[str] = set()
        for start in range(0, len(user_ids), ADD_MEMBERS_MAX):
            batch = list(user_ids[start : start + ADD_MEMBERS_MAX])
            answer = await self._call(
                "add_group_member",
                {"GroupId": group_id, "Silence": 0, "MemberList": [{"Member_Account": u} for u in batch]},
            )
            for item in answer.result_items("MemberList"):
                if lenient_int(item.get("Result")) in (ADDED, ALREADY):
                    members.add(str(item.get("Member_Account", "")))
        await self._own(GROUP_JOIN, group_id, [(m,) for m in members])
        return members

    async def remove_members(self, group_id: str, user_ids: Sequence[str], reason: str = "") -> None:
        for start in range(0, len(user_ids), DELETE_MEMBERS_MAX):
            batch = list(user_ids[start : start + DELETE_MEMBERS_MAX])
            body: dict[str, Any] = {"GroupId": group_id, "MemberToDel_Account": batch}
            if reason:
                body["Reason"] = reason
            await self._call("delete_group_member", body)
        await self._own(GROUP_EXIT, group_id, [(u,) for u in user_ids])

    async def set_member_info(
        self,
        group_id: str,
        user_id: str,
        *,
        name_card: str | None = None,
        custom_info: dict[str, str] | None = None,
        role: GroupMemberRole | None = None,
    ) -> None:
        body: dict[str, Any] = {"GroupId": group_id, "Member_Account": user_id}
        if name_card is not None:
            body["NameCard"] = name_card
        if custom_info:
            body["AppMemberDefinedData"] = _key_values(custom_info)
        if role is not None:
            body["Role"] = ROLE_NAMES[role]
        if len(body) > 2:
            await self._call("modify_group_member_info", body)
            if role is not None:
                await self._own(GROUP_ROLE, group_id, [(user_id, ROLE_NAMES[role])])
            if name_card is not None:
                await self._own(GROUP_CARD, group_id, [(user_id, name_card)])

    async def mute_members(self, group_id: str, user_ids: Sequence[str], seconds: int) -> None:
        """forbid_send_msg (B26); `group_id` may name a community's topic, which Tencent mutes the
        members in alone: its community's GroupId with the topic's TopicId (MAPPING.md #75). No
        echo to record: no webhook reports mutes."""
        ids = group_and_topic(group_id)
        for start in range(0, len(user_ids), FORBID_MEMBERS_MAX):
            batch = list(user_ids[start : start + FORBID_MEMBERS_MAX])
            await self._call("forbid_send_msg", {**ids, "Members_Account": batch, "MuteTime": seconds})

    async def set_receive_option(self, group_id: str, user_id: str, opt: MessageOpt) -> None:
        """modify_group_member_info {MsgFlag} (B26; MAPPING.md #36), each of V2TIM_MessageOpt's values
        having its MsgFlag. No echo to record: Group.CallbackAfterMemberFieldChanged reports Role and
        NameCard only, and its applier changes nothing when those are as the mirror has them."""
        body = {"GroupId": group_id, "Member_Account": user_id, "MsgFlag": MSG_FLAG_NAMES[opt]}
        await self._call("modify_group_member_info", body)

    # ---- attributes and counters ------------------------------------------------------------------
    async def set_attributes(self, group_id: str, attributes: dict[str, str], *, replace: bool) -> None:
        """set_group_attr (all replaced: OptionType "set") or modify_group_attr ("modify"); the keys
        are lowercase here (B28)."""
        items = [{"key": k, "value": v} for k, v in attributes.items()]
        await self._call(
            "set_group_attr" if replace else "modify_group_attr", {"GroupId": group_id, "GroupAttr": items}
        )
        option = "set" if replace else "modify"
        await self._own(GROUP_ATTR, group_id, [(option, k, v) for k, v in attributes.items()] or [(option, "", "")])

    async def delete_attributes(self, group_id: str, keys: Sequence[str] | None) -> None:
        if keys is None:
            await self._call("clear_group_attr", {"GroupId": group_id})
            await self._own(GROUP_ATTR, group_id, [("clear", "", "")])
            return
        await self._call("delete_group_attr", {"GroupId": group_id, "GroupAttr": [{"key": k} for k in keys]})
        await self._own(GROUP_ATTR, group_id, [("delete", k, "") for k in keys])

    async def update_counters(self, group_id: str, counters: dict[str, int], *, mode: str) -> dict[str, int]:
        if mode not in COUNTER_MODES:
            raise ValueError(f"update_group_counter Mode {mode!r}")
        body = {
            "GroupId": group_id,
            "GroupCounter": [{"Key": k, "Value": v} for k, v in counters.items()],
            "Mode": mode,
        }
        # Increase and Decrease are not idempotent: a resent one would count twice
        answer = await self._call("update_group_counter", body, idempotent=mode == "Set")
        return _counters(answer.result_items("GroupCounter"))

    async def fetch_counters(self, group_id: str) -> dict[str, int]:
        answer = await self._call("get_group_counter", {"GroupId": group_id})
        return _counters(answer.result_items("GroupCounter"))

    # ---- reads for the mirror's imports -----------------------------------------------------------
    async def fetch_groups(self, group_ids: Sequence[str]) -> list[UpstreamGroup]:
        found: list[UpstreamGroup] = []
        for start in range(0, len(group_ids), GROUP_INFO_IDS_MAX):
            batch = list(group_ids[start : start + GROUP_INFO_IDS_MAX])
            answer = await self._call(
                "get_group_info", {"GroupIdList": batch, "ResponseFilter": {"GroupBaseInfoFilter": BASE_INFO}}
            )
            for item in answer.result_items("GroupInfo"):
                if lenient_int(item.get("ErrorCode")) != 0 or not isinstance(item.get("GroupId"), str):
                    continue  # no such group (10010), or not the app's to read: left out
                info = self._group_info(item)
                if info.groupType == GroupType.V2TIM_GROUP_TYPE_COMMUNITY and not info.isSupportTopic:
                    # get_group_info does not say whether a community has topics: get_topic does
                    info.isSupportTopic = await supports_topics(self._client, info.groupID, info.owner)
                members = await self._members(info.groupID, info.groupType)
                attributes = await self._client.call(
                    f"{ATTR_SVC}/get_group_attr", {"GroupId": info.groupID}, idempotent=True
                )
                community = info.groupType == GroupType.V2TIM_GROUP_TYPE_COMMUNITY  # no counters
                found.append(
                    UpstreamGroup(
                        info=info,
                        members=members,
                        custom_info=_read_key_values(item.get("AppDefinedData")),
                        max_members=lenient_int(item.get("MaxMemberNum")),
                        next_seq=max(1, lenient_int(item.get("NextMsgSeq"))),
                        attributes={
                            str(a["key"]): str(a.get("value", ""))
                            for a in attributes.result_items("GroupAttrAry")
                            if "key" in a
                        },
                        counters={} if community else await self.fetch_counters(info.groupID),
                    )
                )
        return found

    @staticmethod
    def _group_info(item: dict[str, Any]) -> GroupInfo:
        group_type = GROUP_TYPES.get(str(item.get("Type")), GroupType.V2TIM_GROUP_TYPE_PUBLIC)
        return GroupInfo(
            groupID=str(item["GroupId"]),
            groupType=group_type,
            groupName=str(item.get("Name") or ""),
            notification=str(item.get("Notification") or ""),
            introduction=str(item.get("Introduction") or ""),
            faceUrl=str(item.get("FaceUrl") or ""),
            addOpt=JOIN_OPTIONS.get(str(item.get("ApplyJoinOption")), GroupAdd.V2TIM_GROUP_ADD_AUTH),
            isAllMuted=item.get("MuteAllMember") == "On",
            isSupportTopic=group_type == GroupType.V2TIM_GROUP_TYPE_COMMUNITY and bool(item.get("SupportTopic")),
            owner=str(item.get("Owner_Account") or ""),
            memberCount=lenient_int(item.get("MemberNum")),
            createTime=lenient_int(item.get("CreateTime")),
            lastInfoTime=lenient_int(item.get("LastInfoTime")),
        )

    async def _members(self, group_id: str, group_type: GroupType) -> list[UpstreamMember]:
        """Every member, in Tencent's order: Limit/Offset pages, or Next for Community groups."""
        members: list[UpstreamMember] = []
        by_cursor = group_type == GroupType.V2TIM_GROUP_TYPE_COMMUNITY
        cursor = ""
        while True:
            body: dict[str, Any] = {"GroupId": group_id, "Limit": MEMBER_PAGE}
            if by_cursor:
                body["Next"] = cursor
            else:
                body["Offset"] = len(members)
            answer = await self._call("get_group_member_info", body)
            page = answer.result_items("MemberList")
            members += [self._member(row) for row in page if isinstance(row.get("Member_Account"), str)]
            if by_cursor:
                cursor = str(answer.get("Next") or "")
                if not cursor or not page:
                    return members
            elif not page or len(members) >= lenient_int(answer.get("MemberNum")):
                return members

    @staticmethod
    def _member(row: dict[str, Any]) -> UpstreamMember:
        return UpstreamMember(
            user_id=str(row["Member_Account"]),
            role=ROLES.get(str(row.get("Role")), ROLES["Member"]),
            join_time=lenient_int(row.get("JoinTime")),
            name_card=str(row.get("NameCard") or ""),
            mute_until=lenient_int(row.get("MuteUntil", row.get("ShutUpUntil"))),
            custom_info=_read_key_values(row.get("AppMemberDefinedData")),
            # an unknown or missing flag (a filtered list) reads as Tencent's default
            receive_option=MSG_FLAGS.get(str(row.get("MsgFlag")), MessageOpt.V2TIM_RECEIVE_MESSAGE),
        )

    async def joined_group_ids(self, user_id: str) -> list[str]:
        """With the Work groups that have no message yet (WithNoActiveGroups): the mirror lists them."""
        ids: list[str] = []
        while True:
            answer = await self._call(
                "get_joined_group_list",
                {"Member_Account": user_id, "Limit": JOINED_PAGE, "Offset": len(ids), "WithNoActiveGroups": 1},
            )
            page = [str(g["GroupId"]) for g in answer.result_items("GroupIdList") if isinstance(g.get("GroupId"), str)]
            ids += page
            if not page or len(ids) >= lenient_int(answer.get("TotalCount")):
                return ids

    # ---- messages ---------------------------------------------------------------------------------
    async def send_group_message(self, message: StoredMessage, *, online_only: bool) -> UpstreamSent:
        ids = group_and_topic(message.groupID)
        body: dict[str, Any] = {**ids}
        if message.sender != self._client.admin:
            # the admin's own message (the REST send of an admin, no member) names no sender: Tencent
            # sends it as the admin calling, who need not be a member (B3: From_Account is optional),
            # and its echo names that admin in From_Account (the mirror's `message_sent` takes it
            # back as the admin's own message, the same as this one)
            body["From_Account"] = message.sender
        # the mirror's random: a resent send repeats it, and Tencent drops the repeat (B3)
        body["Random"] = message.random
        body["MsgBody"] = msgbody_from_content(message.content, self._media_url)
        if message.priority and message.priority != Priority.V2TIM_PRIORITY_NORMAL:
            body["MsgPriority"] = PRIORITY_NAMES.get(message.priority, "Normal")
        if online_only:
            body["OnlineOnlyFlag"] = 1
        body.update(send_options(message, online_only=online_only, receipt_field="NeedReadReceipt"))
        if message.targets:
            body["To_Account"] = list(message.targets)
        if message.groupAtUserList:
            body["GroupAtInfo"] = [
                {"GroupAtAllFlag": 1} if u == AT_ALL else {"GroupAtAllFlag": 0, "GroupAt_Account": u}
                for u in message.groupAtUserList
            ]
        answer = await self._call("send_group_msg", body)
        seq, sent_at = answer.get("MsgSeq"), answer.get("MsgTime")
        if not isinstance(seq, int) or not isinstance(sent_at, int) or seq < 1:
            raise bad_answer(f"{SVC}/send_group_msg", "no MsgSeq or MsgTime")
        await self._own_messages.record_own_message(group_echo_key(SEND, ids["GroupId"], ids.get("TopicId", ""), seq))
        return UpstreamSent(timestamp=sent_at, key=str(seq))

    async def recall_group_message(self, group_id: str, seq: int) -> None:
        """Recorded as the gateway's own before the call: the seq is known, and the echo may come
        back before the answer does."""
        ids = group_and_topic(group_id)
        echo = group_echo_key(RECALL, ids["GroupId"], ids.get("TopicId", ""), seq)
        await self._own_messages.record_own_message(echo)
        answer = await self._call("group_msg_recall", {**ids, "MsgSeqList": [{"MsgSeq": seq}]})
        for item in answer.result_items("RecallRetList"):
            code = lenient_int(item.get("RetCode"))
            if lenient_int(item.get("MsgSeq")) == seq and code != 0:
                raise tencent_error(code, "the message was not recalled", f"{SVC}/group_msg_recall")

    async def modify_group_message(
        self, group_id: str, seq: int, content: Content | None, cloud_custom_data: str | None
    ) -> None:
        ids = group_and_topic(group_id)
        body: dict[str, Any] = {**ids, "MsgSeq": seq}
        if content is not None:
            body["MsgBody"] = msgbody_from_content(content, self._media_url)
        if cloud_custom_data is not None:
            body["CloudCustomData"] = cloud_custom_data
        await self._own_messages.record_own_message(group_echo_key(MODIFY, ids["GroupId"], ids.get("TopicId", ""), seq))
        await self._client.call("openim/modify_group_msg", body, idempotent=True)
