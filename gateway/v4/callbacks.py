"""Tencent's third-party callbacks on the wire: command names, the request line, platforms and the
answers' codes (MAPPING.md section 5, FIXTURES.md A4 and C).

A callback is `POST <url>?SdkAppid=&CallbackCommand=&contenttype=json&ClientIP=&OptPlatform=`
(plus `&Sign=&RequestTime=` with a token, gateway.v4.signing) with a JSON body that repeats
`CallbackCommand`. The answer is HTTP 200 with `{"ActionStatus","ErrorInfo","ErrorCode"}`; before-
callbacks act on it, after-callbacks ignore it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from gateway.v4.signing import callback_sign

# ---- before-callbacks: the app decides (synchronous, bounded by a timeout) ---------------------
C2C_BEFORE_SEND = "C2C.CallbackBeforeSendMsg"
GROUP_BEFORE_SEND = "Group.CallbackBeforeSendMsg"
PREV_FRIEND_ADD = "Sns.CallbackPrevFriendAdd"
PREV_FRIEND_RESPONSE = "Sns.CallbackPrevFriendResponse"
BEFORE_APPLY_JOIN = "Group.CallbackBeforeApplyJoinGroup"
BEFORE_CREATE_GROUP = "Group.CallbackBeforeCreateGroup"

# ---- after-callbacks: the app is told (queued, delivered by a worker, retried) -------------------
C2C_AFTER_SEND = "C2C.CallbackAfterSendMsg"
C2C_AFTER_WITHDRAW = "C2C.CallbackAfterMsgWithDraw"
C2C_AFTER_READ = "C2C.CallbackAfterMsgReport"
C2C_AFTER_MODIFY = "C2C.CallbackAfterModifyMsg"
C2C_AFTER_EXTENSION = "C2C.CallbackAfterC2CMsgExtension"
GROUP_AFTER_SEND = "Group.CallbackAfterSendMsg"
GROUP_AFTER_JOIN = "Group.CallbackAfterNewMemberJoin"
GROUP_AFTER_EXIT = "Group.CallbackAfterMemberExit"
GROUP_AFTER_CREATE = "Group.CallbackAfterCreateGroup"
GROUP_AFTER_DESTROY = "Group.CallbackAfterGroupDestroyed"
GROUP_AFTER_INFO = "Group.CallbackAfterGroupInfoChanged"
GROUP_AFTER_RECALL = "Group.CallbackAfterRecallMsg"
GROUP_AFTER_MEMBER_FIELD = "Group.CallbackAfterMemberFieldChanged"
GROUP_AFTER_OWNER = "Group.CallbackAfterChangeGroupOwner"
GROUP_AFTER_ATTR = "Group.CallbackAfterGroupAttrChanged"
GROUP_AFTER_READ_RECEIPT = "Group.CallbackAfterReadReceipt"
GROUP_AFTER_MODIFY = "Group.CallbackAfterModifyMsg"
GROUP_AFTER_EXTENSION = "Group.CallbackAfterGroupMsgExtension"
FRIEND_ADD = "Sns.CallbackFriendAdd"
FRIEND_DELETE = "Sns.CallbackFriendDelete"
BLACKLIST_ADD = "Sns.CallbackBlackListAdd"
BLACKLIST_DELETE = "Sns.CallbackBlackListDelete"
PORTRAIT_SET = "Profile.CallbackPortraitSet"
STATE_CHANGE = "State.StateChange"

BEFORE_COMMANDS = (
    C2C_BEFORE_SEND,
    GROUP_BEFORE_SEND,
    PREV_FRIEND_ADD,
    PREV_FRIEND_RESPONSE,
    BEFORE_APPLY_JOIN,
    BEFORE_CREATE_GROUP,
)
AFTER_COMMANDS = (
    C2C_AFTER_SEND,
    C2C_AFTER_WITHDRAW,
    C2C_AFTER_READ,
    C2C_AFTER_MODIFY,
    C2C_AFTER_EXTENSION,
    GROUP_AFTER_SEND,
    GROUP_AFTER_JOIN,
    GROUP_AFTER_EXIT,
    GROUP_AFTER_CREATE,
    GROUP_AFTER_DESTROY,
    GROUP_AFTER_INFO,
    GROUP_AFTER_RECALL,
    GROUP_AFTER_MEMBER_FIELD,
    GROUP_AFTER_OWNER,
    GROUP_AFTER_ATTR,
    GROUP_AFTER_READ_RECEIPT,
    GROUP_AFTER_MODIFY,
    GROUP_AFTER_EXTENSION,
    FRIEND_ADD,
    FRIEND_DELETE,
    BLACKLIST_ADD,
    BLACKLIST_DELETE,
    PORTRAIT_SET,
    STATE_CHANGE,
)
# what imql can send: the callbacks the engine has an event for (IMQL_CALLBACK_COMMANDS picks among them)
SUPPORTED_COMMANDS = frozenset(BEFORE_COMMANDS + AFTER_COMMANDS)

# ---- OptPlatform -------------------------------------------------------------------------------
REST_API = "RESTAPI"  # the action came from the app's servers (REST v4)
UNKNOWN_PLATFORM = "Unknown"
_PLATFORMS = {
    "web": "Web",
    "android": "Android",
    "ios": "iOS",
    "windows": "Windows",
    "mac": "Mac",
    "macos": "Mac",
    "ipad": "iPad",
}


def opt_platform(session_platform: str) -> str:
    """Tencent's OptPlatform for an imql session's platform ("web", "android", ...)."""
    return _PLATFORMS.get(session_platform.strip().lower(), UNKNOWN_PLATFORM)


def query_string(
    sdkappid: int,
    command: str,
    client_ip: str,
    platform: str,
    *,
    token: str | None = None,
    request_time: int = 0,
) -> str:
    """The callback's query string, in Tencent's order. State.StateChange spells iOS `IOS`."""
    if command == STATE_CHANGE and platform == "iOS":
        platform = "IOS"
    params: list[tuple[str, str]] = [
        ("SdkAppid", str(sdkappid)),
        ("CallbackCommand", command),
        ("contenttype", "json"),
        ("ClientIP", client_ip),
        ("OptPlatform", platform),
    ]
    if token:
        params += [("Sign", callback_sign(token, request_time)), ("RequestTime", str(request_time))]
    return urlencode(params)


# ---- answers to before-callbacks -----------------------------------------------------------------
ALLOW = 0
REFUSE = 1
DISCARD = 2  # the send looks successful to the sender, but nothing is stored or delivered
C2C_CUSTOM_CODES = range(120001, 130001)  # passed to the sender as the send's error code
GROUP_CUSTOM_CODES = range(10100, 10201)
FRIEND_REFUSE_CODES = range(38000, 39001)  # ResultItem[].ResultCode of Sns.CallbackPrevFriendAdd / Response
C2C_REFUSED = 20006  # what the sender gets for ErrorCode 1 (and for a failed callback, fail-closed)
GROUP_REFUSED = 10016  # "rejected through a third-party callback"
FRIEND_REFUSED = 38000  # a friend request the policy refuses (the range's first code)

# C2C.CallbackAfterC2CMsgExtension / Group.CallbackAfterGroupMsgExtension OperateType
EXTENSION_SET, EXTENSION_DELETE, EXTENSION_CLEAR = 1, 2, 3

# a REST call's ForbidCallbackControl entries and the callbacks each one silences
FORBID_CONTROLS: dict[str, frozenset[str]] = {
    "ForbidBeforeSendMsgCallback": frozenset({C2C_BEFORE_SEND, GROUP_BEFORE_SEND}),
    "ForbidAfterSendMsgCallback": frozenset({C2C_AFTER_SEND, GROUP_AFTER_SEND}),
}
