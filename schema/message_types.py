"""Object and input types of messages: V2TIMMessage, its elements, receipts, push info."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry.types import Info

from gateway.im import messages as im
from schema.context import IMContext
from schema.edges import sender_profile
from schema.enums import ElemType, ImageType, KeywordListMatchType, MsgStatus, Priority
from schema.group_types import GroupMemberInfo, GroupTipsElem
from schema.identity import Node, global_id
from schema.media_urls import media_url
from schema.types import Long, UserFullInfo, gql

URL_DOC = "For an upload, a URL signed for you (as getMessageOnlineUrl gives); for media sent by URL, that URL."


@strawberry.type(description="V2TIMTextElem")
class TextElem:
    text: str


@strawberry.type(description="V2TIMCustomElem")
class CustomElem:
    data: str
    desc: str
    extension: str


@strawberry.type(description="One rendition of an image (ORIGIN, THUMB or LARGE).")
class Image:
    type: ImageType
    UUID: str
    size: int
    width: int
    height: int
    localUrl: str

    @strawberry.field(description=URL_DOC)
    def url(self, root: strawberry.Parent[Any], info: Info[IMContext, None]) -> str:
        return media_url(info, root.UUID, root.url)


@strawberry.type(description="V2TIMImageElem")
class ImageElem:
    path: str
    imageList: list[Image]


@strawberry.type(description="V2TIMSoundElem")
class SoundElem:
    path: str
    UUID: str
    dataSize: int
    duration: int

    @strawberry.field(description=URL_DOC)
    def url(self, root: strawberry.Parent[Any], info: Info[IMContext, None]) -> str:
        return media_url(info, root.UUID, root.url)


@strawberry.type(description="V2TIMVideoElem")
class VideoElem:
    videoPath: str
    UUID: str
    videoSize: int
    duration: int
    videoType: str
    snapshotPath: str
    snapshotUUID: str
    snapshotSize: int
    snapshotWidth: int
    snapshotHeight: int

    @strawberry.field(description=URL_DOC)
    def videoUrl(self, root: strawberry.Parent[Any], info: Info[IMContext, None]) -> str:
        return media_url(info, root.UUID, root.videoUrl)

    @strawberry.field(description=URL_DOC)
    def snapshotUrl(self, root: strawberry.Parent[Any], info: Info[IMContext, None]) -> str:
        return media_url(info, root.snapshotUUID, root.snapshotUrl)


@strawberry.type(description="V2TIMFileElem")
class FileElem:
    path: str
    UUID: str
    fileName: str
    fileSize: int
    localUrl: str

    @strawberry.field(description=URL_DOC)
    def url(self, root: strawberry.Parent[Any], info: Info[IMContext, None]) -> str:
        return media_url(info, root.UUID, root.url)


@strawberry.type(description="V2TIMLocationElem")
class LocationElem:
    desc: str
    longitude: float
    latitude: float


@strawberry.type(description="V2TIMFaceElem")
class FaceElem:
    index: int
    data: str


@strawberry.type(description="V2TIMMergerElem")
class MergerElem:
    title: str
    abstractList: list[str]
    isLayersOverLimit: bool
    compatibleText: str


@strawberry.type(description="V2TIMOfflinePushInfo")
class OfflinePushInfo:
    title: str
    desc: str
    disablePush: bool
    ext: str
    ignoreIOSBadge: bool
    IOSSound: str
    AndroidSound: str
    AndroidOPPOChannelID: str
    IOSPushType: int
    AndroidFCMChannelID: str
    AndroidXiaoMiChannelID: str
    AndroidVIVOCategory: str
    AndroidHuaWeiCategory: str


@strawberry.input(description="V2TIMOfflinePushInfo: what an offline push of this message shows.")
class OfflinePushInfoInput:
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

    def to_domain(self) -> im.OfflinePushInfo:
        return im.OfflinePushInfo(**{name: getattr(self, name) for name in im.OfflinePushInfo.__struct_fields__})


def message_id(root: im.Message) -> strawberry.ID:
    """A message's id: its msgID names it for everyone; a created message not sent yet (no msgID)
    is its creator's, named by the created id."""
    if root.msgID:
        return global_id("Message", root.msgID)
    return global_id("Message", root.sender, root.id)


def _message_id(root: strawberry.Parent[im.Message]) -> strawberry.ID:
    return message_id(root)


def _created_id(root: strawberry.Parent[im.Message]) -> str:
    return root.id


@strawberry.type(description="V2TIMMessage, as the caller sees it.")
class Message(Node):
    msgID: str
    id: strawberry.ID = strawberry.field(
        resolver=_message_id,
        description="The message's global id (Node): the same wherever it is read (history, events, lastMessage); "
        "not its msgID, which APIs take",
    )
    createdID: str = strawberry.field(
        resolver=_created_id,
        description="The create*Message id it was created as: in sendMessage's answer and create*Message's "
        "messageInfo (the sender's view); empty when read back",
    )
    sender: str
    nickName: str
    friendRemark: str
    nameCard: str
    faceUrl: str
    groupID: str
    userID: str = strawberry.field(description="C2C: the conversation's other user")
    status: MsgStatus
    isSelf: bool
    isRead: bool
    isPeerRead: bool
    needReadReceipt: bool
    groupAtUserList: list[str]
    elemType: ElemType
    textElem: TextElem | None
    customElem: CustomElem | None
    imageElem: ImageElem | None
    soundElem: SoundElem | None
    videoElem: VideoElem | None
    fileElem: FileElem | None
    locationElem: LocationElem | None
    faceElem: FaceElem | None
    mergerElem: MergerElem | None
    groupTipsElem: GroupTipsElem | None
    localCustomData: str
    localCustomInt: int
    cloudCustomData: str
    seq: int
    random: int
    timestamp: int
    priority: Priority
    isExcludedFromUnreadCount: bool
    isExcludedFromLastMessage: bool
    isSupportMessageExtension: bool
    offlinePushInfo: OfflinePushInfo | None

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.Message))

    @strawberry.field(description="The sender's profile now (batched across a page of messages).")
    async def senderProfile(
        self, root: strawberry.Parent[im.Message], info: Info[IMContext, None]
    ) -> UserFullInfo | None:
        return gql(await sender_profile(info, root), UserFullInfo)


@strawberry.type(description="A created message: pass `id` to sendMessage within 24 hours.")
class CreateMessageResult:
    id: str
    messageInfo: Message


@strawberry.type(description="getGroupMessageReadMemberList's page.")
class GroupMessageReadMemberList:
    nextSeq: Long
    isFinished: bool
    memberInfoList: list[GroupMemberInfo]


@strawberry.type(description="V2TIMMessageReceipt")
class MessageReceipt:
    msgID: str
    userID: str
    groupID: str
    timestamp: int
    readCount: int
    unreadCount: int
    isPeerRead: bool


@strawberry.type(description="A user's C2C receive option.")
class C2CReceiveMessageOpt:
    userID: str
    c2CReceiveMessageOpt: int = strawberry.field(description="V2TIM_MessageOpt's value (0 receive, 1 not, 2 no push)")


@strawberry.type(description="A message extension (key/value) and the version of its last change.")
class MessageExtension:
    extensionKey: str
    extensionValue: str
    extensionVersion: int


@strawberry.input(
    description="An extension to set. Give extensionVersion (as last read) to set it only if nobody changed it "
    "since (23001 otherwise); leave it out to set it regardless."
)
class MessageExtensionInput:
    extensionKey: str
    extensionValue: str
    extensionVersion: int | None = None


@strawberry.type(description="V2TIMMessageExtensionResult: resultCode 0, or 23001 with the key's current extension.")
class MessageExtensionResult:
    resultCode: int
    resultInfo: str
    extension: MessageExtension


@strawberry.input(description="A text element's new content (modifyMessage).")
class TextElemInput:
    text: str


@strawberry.input(description="A custom element's new content (modifyMessage).")
class CustomElemInput:
    data: str = ""
    desc: str = ""
    extension: str = ""


@strawberry.input(description="modifyMessage's message: its msgID and what changes (only the sender may).")
class MessageInput:
    msgID: str
    textElem: TextElemInput | None = None
    customElem: CustomElemInput | None = None
    cloudCustomData: str | None = None


@strawberry.input(description="V2TIMMessageSearchParam")
class MessageSearchParam:
    keywordList: list[str] | None = None
    conversationID: str | None = None
    messageTypeList: list[ElemType] | None = None
    type: KeywordListMatchType = KeywordListMatchType.V2TIM_KEYWORD_LIST_MATCH_TYPE_OR
    pageSize: int = 0
    pageIndex: int = 0
    searchTimePosition: int = 0
    searchTimePeriod: int = 0
    userIDList: list[str] | None = None

    def to_domain(self) -> im.SearchParam:
        return im.SearchParam(
            keywordList=self.keywordList or [],
            conversationID=self.conversationID,
            messageTypeList=list(self.messageTypeList or []),
            type=self.type,
            pageSize=self.pageSize,
            pageIndex=self.pageIndex,
            searchTimePosition=self.searchTimePosition,
            searchTimePeriod=self.searchTimePeriod,
            userIDList=self.userIDList or [],
        )


@strawberry.type(description="V2TIMMessageSearchResultItem: one conversation's matches.")
class MessageSearchResultItem:
    conversationID: str
    messageCount: int
    messageList: list[Message]


@strawberry.type(
    description="A search's result: totalCount matches (one conversation) or matching conversations (all)."
)
class MessageSearchResult:
    totalCount: int
    messageSearchResultItems: list[MessageSearchResultItem]


@strawberry.type(description="getMessageOnlineUrl: the message's media element, with URLs you can fetch.")
class MessageOnlineUrl:
    imageElem: ImageElem | None
    soundElem: SoundElem | None
    videoElem: VideoElem | None
    fileElem: FileElem | None
