"""The one error type of imql.

Everything below the schema raises `IMError(code, desc)`; `schema.errors` turns it into a GraphQL
error whose extensions carry `code` and `desc`, in exactly one place. Codes are the IM error codes a
Tencent Cloud Chat app already handles (../shared/api/ERRORS.md).
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    """IM error codes imql returns, named as in V2TIMErrorCode.h where it names them."""

    # SDK / session
    ERR_SDK_NOT_INITIALIZED = 6013
    ERR_SDK_NOT_LOGGED_IN = 6014
    ERR_INVALID_PARAMETERS = 6017
    ERR_INVALID_CONVERSATION = 6004
    ERR_USER_SIG_EXPIRED = 6206
    ERR_LOGIN_KICKED_OFF_BY_OTHER = 6208
    ERR_INVALID_USERID = 7003
    ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT = 7008
    ERR_SDK_INTERNAL_ERROR = 7012
    ERR_SDK_INTERFACE_NOT_SUPPORT = 7013
    # Login (UserSig)
    ERR_USERSIG_EXPIRED = 70001
    ERR_USERSIG_INVALID = 70003
    ERR_USERSIG_OTHER_USER = 70013
    ERR_USERSIG_OTHER_APP = 70014
    ERR_LOGIN_THROTTLED = 70050
    # Profile
    ERR_PROFILE_FIELD_TOO_LONG = 40601
    # Signaling
    ERR_SDK_SIGNALING_INVALID_INVITE_ID = 8010
    ERR_SDK_SIGNALING_NO_PERMISSION = 8011
    ERR_SDK_SIGNALING_ALREADY_EXISTS = 8012
    # Messages
    ERR_MSG_BODY_TOO_LARGE = 8001
    ERR_MERGER_MSG_LAYERS_OVER_LIMIT = 8005
    ERR_MSG_MODIFY_CONFLICT = 8006
    ERR_RECEIVER_NOT_FOUND = 20003
    ERR_SENDER_BLOCKED = 20007
    ERR_NOT_FRIENDS = 20009
    ERR_SENDER_MUTED = 20012
    ERR_REVOKE_TIME_LIMIT = 20016
    ERR_EXTENSION_CONFLICT = 23001
    ERR_EXTENSION_NOT_ENABLED = 23004
    # Groups
    ERR_GROUP_ID_TOO_LONG = 8501
    ERR_GROUP_NAME_TOO_LONG = 8502
    ERR_GROUP_INTRODUCTION_TOO_LONG = 8503
    ERR_GROUP_NOTIFICATION_TOO_LONG = 8504
    ERR_GROUP_FACE_URL_TOO_LONG = 8505
    ERR_GROUP_NAME_CARD_TOO_LONG = 8506
    ERR_GROUP_MEMBER_COUNT_LIMIT = 8507
    ERR_GROUP_INVALID_PARAMETERS = 10004
    ERR_NO_PERMISSION = 10007
    ERR_GROUP_OWNER_CANNOT_QUIT = 10009
    ERR_GROUP_NOT_FOUND = 10010
    ERR_ALREADY_GROUP_MEMBER = 10013
    ERR_GROUP_FULL = 10014
    ERR_GROUP_ID_INVALID = 10015
    ERR_GROUP_MEMBER_MUTED = 10017
    ERR_GROUP_ID_TAKEN = 10021
    ERR_GROUP_APPLICATION_HANDLED = 10024
    ERR_GROUP_CAP_REACHED = 10037
    # Conversations
    ERR_CONVERSATION_MARK_PER_CALL = 51006
    ERR_CONVERSATION_GROUP_EXISTS = 51007
    ERR_CONVERSATION_MARK_TOTAL = 51008
    ERR_CONVERSATION_GROUP_NOT_FOUND = 51009
    ERR_CONVERSATION_GROUPS_FULL = 51010
    ERR_CONVERSATION_GROUP_NAME = 51011
    # Friendship
    ERR_FRIENDSHIP_INVALID_PARAMETERS = 30001
    ERR_FRIEND_LIST_FULL = 30010
    ERR_PEER_IN_SELF_BLACKLIST = 30515
    ERR_PEER_DENIES_ALL = 30516
    ERR_IN_PEER_BLACKLIST = 30525
    ERR_FRIEND_PENDING_CONFIRM = 30539
    ERR_NO_SUCH_FRIEND_APPLICATION = 30614
    ERR_NOT_FRIEND = 31704


class IMError(Exception):
    """A failure with an IM error code and a readable reason naming the offending argument."""

    def __init__(self, code: int, desc: str) -> None:
        super().__init__(f"{desc} (code {int(code)})")
        self.code = int(code)
        self.desc = desc


def invalid(desc: str) -> IMError:
    """The common case: a malformed or out-of-range argument (6017)."""
    return IMError(Code.ERR_INVALID_PARAMETERS, desc)
