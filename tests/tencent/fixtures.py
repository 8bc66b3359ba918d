"""The webhook bodies of ../shared/tencent/FIXTURES.md section C, exactly as documented (C1-C26)."""

from __future__ import annotations

from typing import Any

Body = dict[str, Any]

MSG_BODY = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}]

C1: Body = {
    "CallbackCommand": "C2C.CallbackBeforeSendMsg",
    "From_Account": "jared",
    "To_Account": "John",
    "MsgSeq": 48374,
    "MsgRandom": 2837546,
    "MsgTime": 1557481126,
    "MsgKey": "48374_2837546_1557481126",
    "OnlineOnlyFlag": 1,
    "MsgBody": MSG_BODY,
    "CloudCustomData": "your cloud custom data",
}
C2: Body = {
    "CallbackCommand": "C2C.CallbackAfterSendMsg",
    "From_Account": "jared",
    "To_Account": "Jonh",
    "MsgSeq": 48374,
    "MsgRandom": 2837546,
    "MsgTime": 1557481126,
    "MsgKey": "48374_2837546_1557481126",
    "OnlineOnlyFlag": 1,
    "SendMsgResult": 0,
    "ErrorInfo": "send msg succeed",
    "UnreadMsgNum": 7,
    "MsgBody": MSG_BODY,
    "CloudCustomData": "your cloud custom data",
}
C3: Body = {
    "CallbackCommand": "C2C.CallbackAfterMsgReport",
    "Report_Account": "jared",
    "Peer_Account": "Jonh",
    "LastReadTime": 1614754606,
    "UnreadMsgNum": 7,
}
C4: Body = {
    "CallbackCommand": "C2C.CallbackAfterMsgWithDraw",
    "From_Account": "jared",
    "To_Account": "Jonh",
    "MsgKey": "48374_2837546_1557481126",
    "UnreadMsgNum": 7,
}
C5: Body = {
    "CloudCustomData": "1769772027",
    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "2026-01-30T11:20:26.548Z"}}],
    "CallbackCommand": "C2C.CallbackAfterModifyMsg",
    "Operator_Account": "jared",
    "From_Account": "jared",
    "To_Account": "Jonh",
    "MsgRandom": 690,
    "MsgSeq": 609,
    "MsgTime": 1769771529,
    "MsgKey": "609_690_1769771529",
    "EventTime": 1769772027036,
}
C6: Body = {
    "CallbackCommand": "C2C.CallbackAfterC2CMsgExtension",
    "From_Account": "user1",
    "To_Account": "user2",
    "MsgKey": "93847636_1287657_1764688415",
    "OperateType": 1,
    "ExtensionList": [
        {"Key": "k1", "Value": "v1", "Seq": 1},
        {"Key": "k2", "Value": "v2", "Seq": 1},
        {"Key": "k3", "Value": "v3", "Seq": 1},
    ],
    "Seq": 1,
    "EventTime": 1764688540182,
}
C7: Body = {
    "CallbackCommand": "Group.CallbackAfterSendMsg",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "From_Account": "jared",
    "Operator_Account": "admin",
    "Random": 123456,
    "MsgId": "144115233406643804-1727580296-4026038328",
    "MsgSeq": 123,
    "MsgTime": 1490686222,
    "OnlineOnlyFlag": 1,
    "MsgBody": MSG_BODY,
    "CloudCustomData": "your cloud custom data",
    "EventTime": "1670574414123",
}
C8: Body = {
    "CallbackCommand": "Group.CallbackBeforeSendMsg",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Community",
    "From_Account": "jared",
    "Operator_Account": "admin",
    "Random": 123456,
    "OnlineOnlyFlag": 1,
    "MsgBody": MSG_BODY,
    "CloudCustomData": "your cloud custom data",
    "TopicId": "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic",
    "EventTime": "1670574414123",
}
C9: Body = {
    "CallbackCommand": "Group.CallbackAfterNewMemberJoin",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "JoinType": "Apply",
    "Operator_Account": "leckie",
    "NewMemberList": [{"Member_Account": "jared"}, {"Member_Account": "tommy"}],
    "EventTime": "1670574414123",
}
C10: Body = {
    "CallbackCommand": "Group.CallbackAfterMemberExit",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "ExitType": "Kicked",
    "Operator_Account": "leckie",
    "ExitMemberList": [{"Member_Account": "jared"}, {"Member_Account": "tommy"}],
    "EventTime": "1670574414123",
}
C11: Body = {
    "CallbackCommand": "Group.CallbackAfterCreateGroup",
    "GroupId": "@TGS#2J4SZEAEL",
    "Operator_Account": "group_root",
    "Owner_Account": "leckie",
    "Type": "Public",
    "Name": "MyFirstGroup",
    "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "peter"}],
    "UserDefinedDataList": [{"Key": "UserDefined1", "Value": "hello"}, {"Key": "UserDefined2", "Value": "world"}],
    "EventTime": "1670574414123",
}
C12: Body = {
    "CallbackCommand": "Group.CallbackAfterGroupDestroyed",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "Owner_Account": "leckie",
    "Name": "MyFirstGroup",
    "MemberList": [{"Member_Account": "leckie"}, {"Member_Account": "peter"}, {"Member_Account": "bob"}],
    "EventTime": "1670574414123",
}
C13: Body = {
    "CallbackCommand": "Group.CallbackAfterGroupInfoChanged",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "Operator_Account": "leckie",
    "Notification": "NewNotification",
    "EventTime": "1670574414123",
}
C14: Body = {
    "CallbackCommand": "Group.CallbackAfterRecallMsg",
    "Operator_Account": "admin",
    "Type": "Community",
    "GroupId": "1213456",
    "MsgSeqList": [{"MsgSeq": 130}],
    "TopicId": "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic",
    "EventTime": "1670574414123",
}
C15: Body = {
    "CallbackCommand": "Group.CallbackAfterMemberFieldChanged",
    "GroupId": "@TGS#xxxx",
    "Type": "Community",
    "Operator_Account": "admin",
    "Member_Account": "123456",
    "Role": "Admin",
    "NameCard": "jacky",
    "EventTime": "1670574414123",
}
C16: Body = {
    "CallbackCommand": "Group.CallbackAfterChangeGroupOwner",
    "GroupId": "@TGS#2TTV7VSII",
    "Type": "Public",
    "Operator_Account": "admin",
    "OldOwner_Account": "user1",
    "NewOwner_Account": "user2",
    "EventTime": "1670574414123",
}
C17: Body = {
    "CallbackCommand": "Group.CallbackAfterGroupAttrChanged",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "Operator_Account": "leckie",
    "OptionType": "set",
    "GroupAttr": [{"key": "key1", "value": "value1"}, {"key": "key2", "value": "values"}],
    "EventTime": "1670574414123",
}
C18: Body = {
    "CallbackCommand": "Group.CallbackAfterReadReceipt",
    "GroupId": "@TGS#2TTV7VSII",
    "Type": "Public",
    "GroupMsgReceiptList": [
        {"MsgSeq": 1, "ReadNum": 1, "UnreadNum": 6, "ReadReceiptMembers": [{"Member_Account": "user0"}]},
        {"MsgSeq": 2, "ReadNum": 1, "UnreadNum": 6, "ReadReceiptMembers": [{"Member_Account": "user0"}]},
    ],
    "EventTime": "1670574414123",
}
C19: Body = {
    "CallbackCommand": "Group.CallbackBeforeApplyJoinGroup",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "Requestor_Account": "jared",
    "EventTime": "1670574414123",
}
C20: Body = {
    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "2026-03-06T02:09:35.302Z"}}],
    "CallbackCommand": "Group.CallbackAfterModifyMsg",
    "Operator_Account": "oper-user",
    "GroupId": "group-test-2",
    "TopicId": "",
    "MsgSeq": 53,
    "EventTime": 1772762975589,
}
C21: Body = {
    "CallbackCommand": "Group.CallbackAfterGroupMsgExtension",
    "GroupId": "test",
    "MsgSeq": 10,
    "OperateType": 1,
    "ExtensionList": [{"Key": "key2", "Value": "value2", "Seq": 56}, {"Key": "key3", "Value": "12122", "Seq": 56}],
    "Seq": 56,
    "EventTime": 1764688294360,
}
C22: Body = {
    "CallbackCommand": "Sns.CallbackFriendAdd",
    "PairList": [
        {"From_Account": "id", "To_Account": "id1", "Initiator_Account": "id"},
        {"From_Account": "id", "To_Account": "id2", "Initiator_Account": "id"},
        {"From_Account": "id", "To_Account": "id3", "Initiator_Account": "id"},
    ],
    "ClientCmd": "friend_add",
    "Admin_Account": "",
    "ForceFlag": 1,
}
C23: Body = {
    "CallbackCommand": "Sns.CallbackFriendDelete",
    "PairList": [
        {"From_Account": "id", "To_Account": "id1"},
        {"From_Account": "id", "To_Account": "id2"},
        {"From_Account": "id", "To_Account": "id3"},
    ],
}
C24: Body = {
    "CallbackCommand": "Sns.CallbackPrevFriendAdd",
    "Requester_Account": "id",
    "From_Account": "id",
    "FriendItem": [
        {
            "To_Account": "id1",
            "Remark": "remark1",
            "GroupName": "group1",
            "AddSource": "AddSource_Type_Android",
            "AddWording": "this is id1!",
        },
        {
            "To_Account": "id2",
            "Remark": "remark2",
            "GroupName": "group1",
            "AddSource": "AddSource_Type_Android",
            "AddWording": "this is id2!",
        },
    ],
    "AddType": "Add_Type_Both",
    "ForceAddFlags": 0,
    "EventTime": 1631777344870,
}
C24_ANSWER: Body = {
    "ActionStatus": "OK",
    "ErrorCode": 0,
    "ErrorInfo": "",
    "ResultItem": [
        {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
        {"To_Account": "id2", "ResultCode": 0, "ResultInfo": ""},
    ],
}
C25: Body = {
    "CallbackCommand": "Profile.CallbackPortraitSet",
    "Operator_Account": "id1",
    "From_Account": "id1",
    "EventTime": 1656921052497,
    "ProfileItem": [
        {"Tag": "Tag_Profile_IM_Nick", "Value": "nick1"},
        {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Male"},
        {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_NeedConfirm"},
        {"Tag": "Tag_Profile_Custom_Data", "Value": "your custom data"},
    ],
}
C26: Body = {
    "CallbackCommand": "State.StateChange",
    "EventTime": 1629883332497,
    "Info": {"Action": "Login", "To_Account": "testuser316", "Reason": "Register"},
    "KickedDevice": [{"Platform": "Windows"}, {"Platform": "Android"}],
}
# C27: signaling inside a C2C message's MsgBody
C27_BODY: list[dict[str, Any]] = [
    {
        "MsgType": "TIMCustomElem",
        "MsgContent": {
            "Data": '{"businessID":1,"inviteID":"3f1d...","inviter":"alice","actionType":1,'
            '"inviteeList":["bob"],"groupID":"","data":"{}","timeout":30,"onlineUserOnly":false}'
        },
    }
]
