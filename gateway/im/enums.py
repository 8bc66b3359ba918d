"""The SDK's enums, one Python IntEnum each.

Member names are the seed's constant names and values its integers, so the GraphQL enums built
from these classes (schema/enums.py) use exactly the names the SDK documentation uses.
Generated once from ../shared/api/catalog.json; edit by hand from now on.
"""

from enum import Enum, IntEnum, StrEnum


class LogLevel(IntEnum):
    """V2TIM_Log: SDK log level (initSDK logLevel)."""

    V2TIM_LOG_NONE = 0  # output no SDK log
    V2TIM_LOG_DEBUG = 3  # output DEBUG, INFO, WARNING, ERROR logs
    V2TIM_LOG_INFO = 4  # output INFO, WARNING, ERROR logs
    V2TIM_LOG_WARN = 5  # output WARNING, ERROR logs
    V2TIM_LOG_ERROR = 6  # output ERROR logs


class Gender(IntEnum):
    """V2TIM_Gender: User gender."""

    V2TIM_GENDER_UNKNOWN = 0  # unknown
    V2TIM_GENDER_MALE = 1  # male
    V2TIM_GENDER_FEMALE = 2  # female


class AllowType(IntEnum):
    """V2TIM_Allowtype: Friend verification method (好友验证方式)."""

    V2TIM_FRIEND_ALLOW_ANY = 0  # 拒绝所有 (reject all) as documented
    V2TIM_FRIEND_DENY_ANY = 1  # 接受所有 (accept all) as documented
    V2TIM_FRIEND_NEED_CONFIRM = 2  # verification required


class UserStatusType(IntEnum):
    """V2TIM_UserStatus: User status."""

    V2TIM_USER_STATUS_UNKNOWN = 0  # unknown status
    V2TIM_USER_STATUS_ONLINE = 1  # online
    V2TIM_USER_STATUS_OFFLINE = 2  # offline
    V2TIM_USER_STATUS_UNLOGINED = 3  # not logged in (e.g. logout called, or registered but never logged in)


class LoginStatus(IntEnum):
    """V2TIM_Status: Login status (getLoginStatus)."""

    V2TIM_STATUS_LOGINED = 1  # logged in
    V2TIM_STATUS_LOGINING = 2  # logging in
    V2TIM_STATUS_LOGOUT = 3  # not logged in


class MsgStatus(IntEnum):
    """V2TIM_MsgStatus: Message status."""

    V2TIM_MSG_STATUS_SENDING = 1  # sending
    V2TIM_MSG_STATUS_SEND_SUCC = 2  # sent successfully
    V2TIM_MSG_STATUS_SEND_FAIL = 3  # send failed
    V2TIM_MSG_STATUS_HAS_DELETED = 4  # deleted
    V2TIM_MSG_STATUS_LOCAL_IMPORTED = 5  # imported into local storage
    V2TIM_MSG_STATUS_LOCAL_REVOKED = 6  # revoked message


class ElemType(IntEnum):
    """V2TIM_ElemType: Message (element) type."""

    V2TIM_ELEM_TYPE_TEXT = 1  # text message
    V2TIM_ELEM_TYPE_CUSTOM = 2  # custom message
    V2TIM_ELEM_TYPE_IMAGE = 3  # image message
    V2TIM_ELEM_TYPE_SOUND = 4  # voice message
    V2TIM_ELEM_TYPE_VIDEO = 5  # video message
    V2TIM_ELEM_TYPE_FILE = 6  # file message
    V2TIM_ELEM_TYPE_LOCATION = 7  # location message
    V2TIM_ELEM_TYPE_FACE = 8  # face (emoji) message
    V2TIM_ELEM_TYPE_GROUP_TIPS = 9  # group tips message
    V2TIM_ELEM_TYPE_MERGER = 10  # merged message


class ImageType(IntEnum):
    """V2TIM_ImageType: Image type (no description in the doc; used by V2TIMImageElem.imageList[].type)."""

    V2TIM_IMAGE_TYPE_ORIGIN = 0  # original image
    V2TIM_IMAGE_TYPE_THUMB = 1  # thumbnail
    V2TIM_IMAGE_TYPE_LARGE = 2  # large image


class GroupTipsType(IntEnum):
    """V2TIM_GroupTipsType: Group tips (event notification) type, used by V2TIMGroupTipsElem.type."""

    GROUP_TIPS_TYPE_INVALID = 0  # invalid
    V2TIM_GROUP_TIPS_TYPE_JOIN = 1  # joined actively (memberList joined the group; valid for non-Work groups)
    V2TIM_GROUP_TIPS_TYPE_INVITE = 2  # invited (opMember invited memberList; valid for Work groups)
    V2TIM_GROUP_TIPS_TYPE_QUIT = 3  # quit the group
    V2TIM_GROUP_TIPS_TYPE_KICKED = 4  # kicked (opMember kicked memberList out)
    V2TIM_GROUP_TIPS_TYPE_SET_ADMIN = 5  # admin set (opMember made memberList admins)
    V2TIM_GROUP_TIPS_TYPE_CANCEL_ADMIN = 6  # admin cancelled (opMember revoked memberList's admin role)
    V2TIM_GROUP_TIPS_TYPE_GROUP_INFO_CHANGE = 7  # group profile changed (opMember changed groupName & introduction &
    V2TIM_GROUP_TIPS_TYPE_MEMBER_INFO_CHANGE = 8  # member profile changed (opMember changed member muteTime)


class AtType(IntEnum):
    """V2TIM_At: @ type (no description in the doc; used by V2TIMTopicInfo.groupAtInfolist[].atType)."""

    TIM_AT_UNKNOWN = 0  # error state
    TIM_AT_ME = 1  # @ me
    TIM_AT_ALL = 2  # @ all members of the group
    TIM_AT_ALL_AT_ME = 3  # @ all members and also @ me


class GroupType(StrEnum):
    """V2TIM_GroupType: Group type. The SDK's values are strings, not integers."""

    V2TIM_GROUP_TYPE_WORK = "Work"  # work group: max 200 members; users cannot join on their own, must be invited; li
    V2TIM_GROUP_TYPE_PUBLIC = "Public"  # public group: max 2000 members; anyone may apply to join, approval by owner
    V2TIM_GROUP_TYPE_MEETING = "Meeting"  # meeting group: max 6000 members; anyone can enter and leave freely, no app
    V2TIM_GROUP_TYPE_COMMUNITY = "Community"  # community: max 100000 members; free entry/exit, no approval; for very
    V2TIM_GROUP_TYPE_AVCHATROOM = "AVChatRoom"  # live-streaming group: no member limit; free entry/exit; high message


class GroupInfoChangeType(IntEnum):
    """V2TIM_GroupInfoChangeType: Group info change type (used by V2TIMGroupChangeInfo.type)."""

    V2TIM_GROUP_INFO_INVALID = 0  # invalid value
    V2TIM_GROUP_INFO_CHANGE_TYPE_NAME = 1  # group name changed
    V2TIM_GROUP_INFO_CHANGE_TYPE_INTRODUCTION = 2  # group introduction changed
    V2TIM_GROUP_INFO_CHANGE_TYPE_NOTIFICATION = 3  # group notification changed
    V2TIM_GROUP_INFO_CHANGE_TYPE_FACE_URL = 4  # group avatar changed
    V2TIM_GROUP_INFO_CHANGE_TYPE_OWNER = 5  # group owner changed
    V2TIM_GROUP_INFO_CHANGE_TYPE_CUSTOM = 6  # group custom field changed
    V2TIM_GROUP_INFO_CHANGE_TYPE_SHUT_UP_ALL = 8  # mute-all field changed; requires backend configuration; new value
    V2TIM_GROUP_INFO_CHANGE_TYPE_RECEIVE_MESSAGE_OPT = 10  # message receive option changed; new value via getIntValue
    V2TIM_GROUP_INFO_CHANGE_TYPE_GROUP_ADD_OPT = 11  # join option changed; new value via getIntValue


class Priority(IntEnum):
    """V2TIM_Priority: Message priority (sendMessage priority)."""

    V2TIM_PRIORITY_DEFAULT = 0  # default: normal priority
    V2TIM_PRIORITY_HIGH = 1  # high priority, usually for important messages such as gifts
    V2TIM_PRIORITY_NORMAL = 2  # normal priority, for ordinary messages
    V2TIM_PRIORITY_LOW = 3  # low priority, usually for like messages


class GroupAdd(IntEnum):
    """V2TIM_GroupAdd: Group join option (createGroup addOpt / approveOpt)."""

    V2TIM_GROUP_ADD_FORBID = 0  # joining forbidden
    V2TIM_GROUP_ADD_AUTH = 1  # admin approval required
    V2TIM_GROUP_ADD_ANY = 2  # anyone can join


class GroupMemberRole(IntEnum):
    """V2TIM_GroupMemberRole: Group member role."""

    V2TIM_GROUP_MEMBER_ROLE_MEMBER = 200  # group member
    V2TIM_GROUP_MEMBER_ROLE_ADMIN = 300  # group admin
    V2TIM_GROUP_MEMBER_ROLE_OWNER = 400  # group owner


class MessageOpt(IntEnum):
    """V2TIM_MessageOpt: Message receive option (setC2CReceiveMessageOpt / setGroupReceiveMessageOpt opt)."""

    # The seed gives no numbers; these are the SDK's (V2TIMMessageManager.h).
    V2TIM_RECEIVE_MESSAGE = 0  # receive normally when online; vendor offline push notification when offline
    V2TIM_NOT_RECEIVE_MESSAGE = 1  # do not receive messages
    V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE = 2  # receive normally when online; no push notification when offline


class GetType(IntEnum):
    """V2TIM_GetType: History fetch type (getHistoryMessageList getType)."""

    V2TIM_GET_CLOUD_OLDER_MSG = 1  # fetch older messages from cloud
    V2TIM_GET_CLOUD_NEWER_MSG = 2  # fetch newer messages from cloud
    V2TIM_GET_LOCAL_OLDER_MSG = 3  # fetch older local messages
    V2TIM_GET_LOCAL_NEWER_MSG = 4  # fetch newer local messages


class KeywordListMatchType(IntEnum):
    """V2TIM_KeywordListMatchType: Keyword list match type (search type)."""

    V2TIM_KEYWORD_LIST_MATCH_TYPE_OR = 0  # "or" search
    V2TIM_KEYWORD_LIST_MATCH_TYPE_AND = 1  # "and" search


class GroupMemberFilter(IntEnum):
    """V2TIM_GroupMemberFilter: Group member filter (getGroupMemberList filter)."""

    V2TIM_GROUP_MEMBER_FILTER_ALL = 0  # all types
    V2TIM_GROUP_MEMBER_FILTER_OWNER = 1  # group owner
    V2TIM_GROUP_MEMBER_FILTER_ADMIN = 2  # group admin
    V2TIM_GROUP_MEMBER_FILTER_COMMON = 3  # ordinary member


class GroupMemberOperationResult(IntEnum):
    """V2TIM_GroupMemberOperationResult: Group member operation result (inviteUserToGroup / kickGroupMember result)."""

    OPERATION_RESULT_FAIL = 0  # failed
    OPERATION_RESULT_SUCC = 1  # succeeded
    OPERATION_RESULT_INVALID = 2  # invalid operation: already a member when joining, or not in the group when remov
    OPERATION_RESULT_PENDING = 3  # pending: waiting for the invitee to handle the invitation
    OPERATION_RESULT_OVERLIMIT = 4  # failed: when creating a group with initial members or inviting, the invitee's to


class GroupApplicationType(IntEnum):
    """V2TIM_GroupApplicationType: Group application type."""

    V2TIM_GROUP_APPLICATION_GET_TYPE_JOIN = 0  # application to join
    V2TIM_GROUP_APPLICATION_GET_TYPE_INVITE = 1  # invited to join


class GroupApplicationHandleStatus(IntEnum):
    """V2TIM_GroupApplicationHandleStatus: Group application handle status."""

    V2TIM_GROUP_APPLICATION_HANDLE_STATUS_UNHANDLED = 0  # unhandled
    V2TIM_GROUP_APPLICATION_HANDLE_STATUS_HANDLED_BY_OTHER = 1  # handled by others
    V2TIM_GROUP_APPLICATION_HANDLE_STATUS_HANDLED_BY_SELF = 2  # handled by self


class GroupApplicationHandleResult(IntEnum):
    """V2TIM_GroupApplicationHandleResult: Group application handle result."""

    V2TIM_GROUP_APPLICATION_HANDLE_RESULT_REFUSE = 0  # application refused
    V2TIM_GROUP_APPLICATION_HANDLE_RESULT_AGREE = 1  # application agreed


class SignalingActionType(IntEnum):
    """V2TIM_SignalingActionType: Signaling action type (V2TIMSignalingInfo.actionType)."""

    SIGNALING_ACTION_TYPE_UNKNOWN = 0  # undefined
    SIGNALING_ACTION_TYPE_INVITE = 1  # inviter sends invitation
    SIGNALING_ACTION_TYPE_CANCEL_INVITE = 2  # inviter cancels invitation
    SIGNALING_ACTION_TYPE_ACCEPT_INVITE = 3  # invitee accepts
    SIGNALING_ACTION_TYPE_REJECT_INVITE = 4  # invitee rejects
    SIGNALING_ACTION_TYPE_INVITE_TIMEOUT = 5  # invitation timed out


class ConversationType(IntEnum):
    """V2TIM_ConversationType: Conversation type."""

    CONVERSATION_TYPE_INVALID = 0  # invalid
    V2TIM_C2C = 1  # one-to-one chat
    V2TIM_GROUP = 2  # group chat


class ConversationMarkType(IntEnum):
    """V2TIM_ConversationMarkType: Conversation mark type (bit flags)."""

    V2TIM_CONVERSATION_MARK_TYPE_STAR = 1  # conversation starred
    V2TIM_CONVERSATION_MARK_TYPE_UNREAD = 2  # conversation marked unread (important conversation)
    V2TIM_CONVERSATION_MARK_TYPE_FOLD = 4  # conversation folded
    V2TIM_CONVERSATION_MARK_TYPE_HIDE = 8  # conversation hidden


class FriendApplicationType(IntEnum):
    """V2TIM_FriendApplication: Friend application type (V2TIMFriendApplication.type)."""

    V2TIM_FRIEND_APPLICATION_COME_IN = 1  # friend requests others sent me
    V2TIM_FRIEND_APPLICATION_SEND_OUT = 2  # friend requests I sent to others
    V2TIM_FRIEND_APPLICATION_BOTH = 3  # both received and sent requests; only valid when fetching


class FriendRelationType(IntEnum):
    """V2TIM_FriendRelationType: Friend relation type."""

    V2TIM_FRIEND_RELATION_TYPE_NONE = 0  # not friends
    V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST = 1  # the other user is in my friend list
    V2TIM_FRIEND_RELATION_TYPE_IN_OTHER_FRIEND_LIST = 2  # I am in the other user's friend list
    V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY = 3  # mutual friends


class FriendAddType(IntEnum):
    """V2TIM_FriendAddType: Friend type (addFriend addType, deleteFromFriendList deleteType, checkFriend checkType)."""

    V2TIM_FRIEND_TYPE_SINGLE = 1  # one-way friend
    V2TIM_FRIEND_TYPE_BOTH = 2  # mutual friends


class FriendAccept(IntEnum):
    """V2TIM_FriendAccept: Friend application accept type (acceptFriendApplication responseType)."""

    V2TIM_FRIEND_ACCEPT_AGREE = 0  # agree (establish a one-way friendship)
    V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD = 1  # agree and add the other as friend (establish a two-way friendship)


# Every enum with the GraphQL name the seed gives it.
SEED_ENUM_NAMES: dict[type[Enum], str] = {
    LogLevel: "V2TIM_Log",
    Gender: "V2TIM_Gender",
    AllowType: "V2TIM_Allowtype",
    UserStatusType: "V2TIM_UserStatus",
    LoginStatus: "V2TIM_Status",
    MsgStatus: "V2TIM_MsgStatus",
    ElemType: "V2TIM_ElemType",
    ImageType: "V2TIM_ImageType",
    GroupTipsType: "V2TIM_GroupTipsType",
    AtType: "V2TIM_At",
    GroupType: "V2TIM_GroupType",
    GroupInfoChangeType: "V2TIM_GroupInfoChangeType",
    Priority: "V2TIM_Priority",
    GroupAdd: "V2TIM_GroupAdd",
    GroupMemberRole: "V2TIM_GroupMemberRole",
    MessageOpt: "V2TIM_MessageOpt",
    GetType: "V2TIM_GetType",
    KeywordListMatchType: "V2TIM_KeywordListMatchType",
    GroupMemberFilter: "V2TIM_GroupMemberFilter",
    GroupMemberOperationResult: "V2TIM_GroupMemberOperationResult",
    GroupApplicationType: "V2TIM_GroupApplicationType",
    GroupApplicationHandleStatus: "V2TIM_GroupApplicationHandleStatus",
    GroupApplicationHandleResult: "V2TIM_GroupApplicationHandleResult",
    SignalingActionType: "V2TIM_SignalingActionType",
    ConversationType: "V2TIM_ConversationType",
    ConversationMarkType: "V2TIM_ConversationMarkType",
    FriendApplicationType: "V2TIM_FriendApplication",
    FriendRelationType: "V2TIM_FriendRelationType",
    FriendAddType: "V2TIM_FriendAddType",
    FriendAccept: "V2TIM_FriendAccept",
}
