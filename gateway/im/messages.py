"""Messages: V2TIMMessage and its elements, as stored and as one user sees them.

A message is stored once (`StoredMessage`: what is the same for everyone) and shown to each viewer
as a `Message` (adds what depends on the viewer: isSelf, isRead, isPeerRead, the conversation peer,
the viewer's friend remark for the sender, the viewer's local custom data).
"""

from __future__ import annotations

import msgspec

from gateway.im.enums import ElemType, ImageType, KeywordListMatchType, MsgStatus, Priority
from gateway.im.groups import GroupMemberInfo, GroupTipsElem


class TextElem(msgspec.Struct, kw_only=True):
    text: str


class CustomElem(msgspec.Struct, kw_only=True):
    data: str = ""
    desc: str = ""
    extension: str = ""


class Image(msgspec.Struct, kw_only=True):
    """One rendition of an image (V2TIMImageElem.imageList[])."""

    type: ImageType
    url: str
    UUID: str = ""
    size: int = 0
    width: int = 0
    height: int = 0
    localUrl: str = ""


class ImageElem(msgspec.Struct, kw_only=True):
    path: str = ""
    imageList: list[Image] = []


class SoundElem(msgspec.Struct, kw_only=True):
    path: str = ""
    UUID: str = ""
    dataSize: int = 0
    duration: int = 0
    url: str = ""


class VideoElem(msgspec.Struct, kw_only=True):
    videoPath: str = ""
    UUID: str = ""
    videoSize: int = 0
    duration: int = 0
    videoUrl: str = ""
    videoType: str = ""
    snapshotPath: str = ""
    snapshotUUID: str = ""
    snapshotSize: int = 0
    snapshotWidth: int = 0
    snapshotHeight: int = 0
    snapshotUrl: str = ""


class FileElem(msgspec.Struct, kw_only=True):
    path: str = ""
    UUID: str = ""
    fileName: str = ""
    fileSize: int = 0
    url: str = ""
    localUrl: str = ""


class LocationElem(msgspec.Struct, kw_only=True):
    desc: str = ""
    longitude: float = 0.0
    latitude: float = 0.0


class FaceElem(msgspec.Struct, kw_only=True):
    index: int = 0
    data: str = ""


class MergerElem(msgspec.Struct, kw_only=True):
    title: str = ""
    abstractList: list[str] = []
    isLayersOverLimit: bool = False
    compatibleText: str = ""
    # the merged messages' IDs (their bodies are copied at creation; see downloadMergerMessage)
    msgIDList: list[str] = []
    layers: int = 1
    bundle: str = ""  # the key suffix of that copy (gateway.engine.merger)


class OfflinePushInfo(msgspec.Struct, kw_only=True):
    title: str = ""
    desc: str = ""
    disablePush: bool = False
    ext: str = ""
    ignoreIOSBadge: bool = False
    IOSSound: str = ""
    AndroidSound: str = ""
    AndroidOPPOChannelID: str = ""
    IOSPushType: int = 0
    AndroidFCMChannelID: str = ""
    AndroidXiaoMiChannelID: str = ""
    AndroidVIVOCategory: str = ""
    AndroidHuaWeiCategory: str = ""


class Content(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a message says: exactly one element, named by elemType."""

    elemType: ElemType
    textElem: TextElem | None = None
    customElem: CustomElem | None = None
    imageElem: ImageElem | None = None
    soundElem: SoundElem | None = None
    videoElem: VideoElem | None = None
    fileElem: FileElem | None = None
    locationElem: LocationElem | None = None
    faceElem: FaceElem | None = None
    mergerElem: MergerElem | None = None
    groupTipsElem: GroupTipsElem | None = None


class StoredMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A message as kept in its conversation's timeline: the same for every viewer."""

    msgID: str
    sender: str
    receiver: str = ""  # C2C: the other user
    groupID: str = ""
    seq: int
    random: int
    timestamp: int
    content: Content
    # the millisecond within `timestamp`'s second it was sent at: a C2C read mark is kept in ms (as
    # unread counts are), so a message sent just after a read in the same second is still unread
    ms: int = 0
    nickName: str = ""  # the sender's, when sent
    faceUrl: str = ""
    status: MsgStatus = MsgStatus.V2TIM_MSG_STATUS_SEND_SUCC
    priority: Priority = Priority.V2TIM_PRIORITY_DEFAULT
    cloudCustomData: str = ""
    needReadReceipt: bool = False
    isExcludedFromUnreadCount: bool = False
    isExcludedFromLastMessage: bool = False
    isSupportMessageExtension: bool = False
    groupAtUserList: list[str] = []
    offlinePushInfo: OfflinePushInfo | None = None
    # a local import (insert*MessageToLocalStorage) is visible to this one user only
    visibleTo: str = ""
    # a targeted group message reaches these members only
    targets: list[str] = []
    revokedBy: str = ""
    version: int = 0  # bumped by each modification


class Message(msgspec.Struct, kw_only=True, omit_defaults=True):
    """V2TIMMessage as one viewer sees it (field names as in the seed). Encoded (in event logs)
    without its default fields."""

    msgID: str
    id: str = ""  # the created-message id it was sent from (sender's view only)
    sender: str
    nickName: str = ""
    friendRemark: str = ""
    nameCard: str = ""
    faceUrl: str = ""
    groupID: str = ""
    userID: str = ""  # C2C: the conversation's other user, whoever sent the message
    status: MsgStatus
    isSelf: bool
    isRead: bool
    isPeerRead: bool = False
    needReadReceipt: bool = False
    groupAtUserList: list[str] = []
    elemType: ElemType
    textElem: TextElem | None = None
    customElem: CustomElem | None = None
    imageElem: ImageElem | None = None
    soundElem: SoundElem | None = None
    videoElem: VideoElem | None = None
    fileElem: FileElem | None = None
    locationElem: LocationElem | None = None
    faceElem: FaceElem | None = None
    mergerElem: MergerElem | None = None
    groupTipsElem: GroupTipsElem | None = None
    localCustomData: str = ""
    localCustomInt: int = 0
    cloudCustomData: str = ""
    seq: int = 0
    random: int = 0
    timestamp: int = 0
    priority: Priority = Priority.V2TIM_PRIORITY_DEFAULT
    isExcludedFromUnreadCount: bool = False
    isExcludedFromLastMessage: bool = False
    isSupportMessageExtension: bool = False
    offlinePushInfo: OfflinePushInfo | None = None


class CreatedMessage(msgspec.Struct, kw_only=True):
    """create*Message's result: the id to send it with, and the message as it will look."""

    id: str
    messageInfo: Message


class SendOptions(msgspec.Struct, kw_only=True):
    """sendMessage's arguments besides the id and the destination."""

    priority: Priority = Priority.V2TIM_PRIORITY_DEFAULT
    onlineUserOnly: bool = False
    cloudCustomData: str | None = None
    localCustomData: str = ""
    isExcludedFromUnreadCount: bool = False
    isExcludedFromLastMessage: bool = False
    isSupportMessageExtension: bool = False
    needReadReceipt: bool = False
    offlinePushInfo: OfflinePushInfo | None = None


class MessageReceipt(msgspec.Struct, kw_only=True):
    """V2TIMMessageReceipt."""

    msgID: str = ""
    userID: str = ""
    groupID: str = ""
    timestamp: int = 0
    readCount: int = 0
    unreadCount: int = 0
    isPeerRead: bool = False


class ReceiveOpt(msgspec.Struct, kw_only=True):
    userID: str
    c2CReceiveMessageOpt: int


class GroupMessageReadMembers(msgspec.Struct, kw_only=True):
    """getGroupMessageReadMemberList's page."""

    nextSeq: int
    isFinished: bool
    memberInfoList: list[GroupMemberInfo]


class SearchParam(msgspec.Struct, kw_only=True):
    """V2TIMMessageSearchParam (searchLocalMessages / searchCloudMessages)."""

    keywordList: list[str] = []
    conversationID: str | None = None
    messageTypeList: list[ElemType] = []
    type: KeywordListMatchType = KeywordListMatchType.V2TIM_KEYWORD_LIST_MATCH_TYPE_OR
    pageSize: int = 0
    pageIndex: int = 0
    searchTimePosition: int = 0
    searchTimePeriod: int = 0
    userIDList: list[str] = []


class MessageSearchResultItem(msgspec.Struct, kw_only=True):
    """V2TIMMessageSearchResultItem: one conversation's matches."""

    conversationID: str
    messageCount: int
    messageList: list[Message]


class MessageSearchResult(msgspec.Struct, kw_only=True):
    totalCount: int
    messageSearchResultItems: list[MessageSearchResultItem]


class MessageExtension(msgspec.Struct, kw_only=True):
    extensionKey: str
    extensionValue: str
    # bumped by each change of the key; give it back when setting to make the write conditional
    extensionVersion: int = 0


class MessageExtensionResult(msgspec.Struct, kw_only=True):
    """V2TIMMessageExtensionResult: 0, or 23001 with the key's current extension (re-read, retry)."""

    resultCode: int
    resultInfo: str
    extension: MessageExtension


# What a one-line summary shows for a message with no text of its own (pushes, reply quotes).
_PLACEHOLDERS = {
    ElemType.V2TIM_ELEM_TYPE_IMAGE: "[Image]",
    ElemType.V2TIM_ELEM_TYPE_SOUND: "[Voice]",
    ElemType.V2TIM_ELEM_TYPE_VIDEO: "[Video]",
    ElemType.V2TIM_ELEM_TYPE_FILE: "[File]",
    ElemType.V2TIM_ELEM_TYPE_LOCATION: "[Location]",
    ElemType.V2TIM_ELEM_TYPE_FACE: "[Sticker]",
    ElemType.V2TIM_ELEM_TYPE_MERGER: "[Chat History]",
}


def content_abstract(content: Content, max_chars: int = 100) -> str:
    """A message in one line: its text (cut to max_chars), a custom message's desc, or its kind ("[Image]")."""
    if content.textElem is not None:
        text = content.textElem.text
        return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
    if content.customElem is not None:
        return content.customElem.desc
    return _PLACEHOLDERS.get(content.elemType, "[Message]")
