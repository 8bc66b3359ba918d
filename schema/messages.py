"""V2TIMMessageManager: create, send, history, revoke, modify, read, local-only changes.

Per the contract, an argument the API cannot work without is non-null in the SDL (validation
refuses a call without it, 6017); the others are nullable or carry the SDK's default. Arguments
needed one-of-two (imagePath or file, receiver or groupID) stay nullable and are checked here.
"""

from __future__ import annotations

from typing import Any

import msgspec
import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from gateway.errors import invalid
from gateway.im import messages as im
from gateway.im.enums import ElemType as DomainElemType
from schema.context import IMContext
from schema.enums import ElemType, GetType, ImageType, MessageOpt, Priority
from schema.friendship import need
from schema.message_types import (
    C2CReceiveMessageOpt,
    CreateMessageResult,
    FileElem,
    GroupMessageReadMemberList,
    ImageElem,
    Message,
    MessageExtension,
    MessageExtensionInput,
    MessageExtensionResult,
    MessageInput,
    MessageOnlineUrl,
    MessageReceipt,
    MessageSearchParam,
    MessageSearchResult,
    OfflinePushInfoInput,
    SoundElem,
    VideoElem,
)
from schema.types import Long, gql

Ctx = Info[IMContext, None]


def _created(result: im.CreatedMessage) -> CreateMessageResult:
    return gql(result, CreateMessageResult)


@strawberry.type
class MessageQuery:
    @strawberry.field(description="A page of a C2C conversation, newest first, before lastMsgID if given.")
    async def getC2CHistoryMessageList(
        self, info: Ctx, userID: str, count: int, lastMsgID: str | None = None
    ) -> list[Message]:
        session = await info.context.session()
        page = await session.get_c2c_history_message_list(userID, count, lastMsgID)
        return gql(page, list[Message])

    @strawberry.field(
        description="A page of history: OLDER pages newest first, NEWER pages oldest first, after lastMsgID or "
        "from the newest (older) / oldest (newer) message; messageTypeList and the time range filter it."
    )
    async def getHistoryMessageList(
        self,
        info: Ctx,
        count: int,
        getType: GetType = GetType.V2TIM_GET_CLOUD_OLDER_MSG,
        lastMsgID: str | None = None,
        userID: str | None = None,
        groupID: str | None = None,
        lastMsgSeq: int | None = None,
        messageTypeList: list[ElemType] | None = None,
        messageSeqList: list[int] | None = None,
        timeBegin: int = 0,
        timePeriod: int = 0,
    ) -> list[Message]:
        if userID and (lastMsgSeq or messageSeqList):
            raise invalid("lastMsgSeq and messageSeqList are for group history only")
        session = await info.context.session()
        page = await session.get_history_message_list(
            peer=userID,
            group_id=groupID,
            count=count,
            get_type=getType,
            last_msg_id=lastMsgID,
            message_types=[DomainElemType(t) for t in messageTypeList or []],
            time_begin=timeBegin,
            time_period=timePeriod,
            last_seq=lastMsgSeq,
            seq_list=messageSeqList,
        )
        return gql(page, list[Message])

    @strawberry.field(description="A page of a group's history, newest first, before msgID if given.")
    async def getGroupHistoryMessageList(
        self, info: Ctx, groupID: str, count: int, msgID: str | None = None
    ) -> list[Message]:
        session = await info.context.session()
        page = await session.get_group_history_message_list(groupID, count, msgID)
        return gql(page, list[Message])

    @strawberry.field(description="The messages a merged message carries, oldest first (8005 past 100 nested layers).")
    async def downloadMergerMessage(self, info: Ctx, msgID: str) -> list[Message]:
        found = await (await info.context.session()).download_merger_message(msgID)
        return gql(found, list[Message])

    @strawberry.field(
        description="Search your messages: keywords (<=5, AND or OR), senders (<=5), types, a time range, one "
        "conversation or all. One conversation: its matches, paged. All: one item per matching conversation "
        "(messageList holds its match when there is exactly one), paged. Reads the newest 20,000 messages at most."
    )
    async def searchLocalMessages(self, info: Ctx, searchParam: MessageSearchParam) -> MessageSearchResult:
        found = await (await info.context.session()).search_messages(searchParam.to_domain())
        return gql(found, MessageSearchResult)

    @strawberry.field(description="searchLocalMessages over the server's copy (the same store here).")
    async def searchCloudMessages(self, info: Ctx, searchParam: MessageSearchParam) -> MessageSearchResult:
        found = await (await info.context.session()).search_messages(searchParam.to_domain())
        return gql(found, MessageSearchResult)

    @strawberry.field(description="A message's extensions (messages sent with isSupportMessageExtension; 23004 else).")
    async def getMessageExtensions(self, info: Ctx, msgID: str) -> list[MessageExtension]:
        found = await (await info.context.session()).get_message_extensions(msgID)
        return gql(found, list[MessageExtension])

    @strawberry.field(
        description="The media element of an image, voice, video or file message with URLs you can fetch: "
        "uploads get URLs signed for you, valid for an hour."
    )
    async def getMessageOnlineUrl(self, info: Ctx, msgID: str) -> MessageOnlineUrl:
        content = await (await info.context.session()).get_message_online_url(msgID)
        base = _base_url(info)
        return MessageOnlineUrl(
            imageElem=gql(_absolute_image(content.imageElem, base), ImageElem) if content.imageElem else None,
            soundElem=gql(_absolute(content.soundElem, base, "url"), SoundElem) if content.soundElem else None,
            videoElem=gql(_absolute(content.videoElem, base, "videoUrl", "snapshotUrl"), VideoElem)
            if content.videoElem
            else None,
            fileElem=gql(_absolute(content.fileElem, base, "url"), FileElem) if content.fileElem else None,
        )

    @strawberry.field(description="Messages by ID (those of your conversations you can see).")
    async def findMessages(self, info: Ctx, messageIDList: list[str]) -> list[Message]:
        found = await (await info.context.session()).find_messages(messageIDList)
        return gql(found, list[Message])

    @strawberry.field(
        description="Read receipts of your own messages (all of one conversation): C2C isPeerRead and when; "
        "group readCount and unreadCount."
    )
    async def getMessageReadReceipts(self, info: Ctx, msgIDList: list[str]) -> list[MessageReceipt]:
        found = await (await info.context.session()).get_message_read_receipts(msgIDList)
        return gql(found, list[MessageReceipt])

    @strawberry.field(
        description="Members who have read (filter 0) or not yet read (filter 1) your group message, paged: "
        "nextSeq 0 first, then the nextSeq returned, until isFinished."
    )
    async def getGroupMessageReadMemberList(
        self, info: Ctx, msgID: str, filter: int = 0, nextSeq: Long | None = None, count: int = 100
    ) -> GroupMessageReadMemberList:
        page = await (await info.context.session()).get_group_message_read_member_list(
            msgID, filter, int(nextSeq or 0), count
        )
        return gql(page, GroupMessageReadMemberList)

    @strawberry.field(description="Your C2C receive option for each user.")
    async def getC2CReceiveMessageOpt(self, info: Ctx, userIDList: list[str]) -> list[C2CReceiveMessageOpt]:
        opts = await (await info.context.session()).get_c2c_receive_message_opt(userIDList)
        return gql(opts, list[C2CReceiveMessageOpt])


@strawberry.type
class MessageMutation:
    @strawberry.mutation(description="Create a text message; send it with sendMessage(id).")
    async def createTextMessage(self, info: Ctx, text: str) -> CreateMessageResult:
        return _created(await (await info.context.session()).create_text_message(text))

    @strawberry.mutation(description="Create a custom message (data, desc, extension).")
    async def createCustomMessage(
        self, info: Ctx, data: str | None = None, desc: str | None = None, extension: str | None = None
    ) -> CreateMessageResult:
        session = await info.context.session()
        return _created(await session.create_custom_message(data or "", desc or "", extension or ""))

    @strawberry.mutation(
        description="Create an image message: upload the image as `file` (multipart request; <=28 MB; its size "
        "and THUMB / LARGE renditions are made here) or give an http(s) URL as imagePath."
    )
    async def createImageMessage(
        self, info: Ctx, imagePath: str | None = None, file: Upload | None = None
    ) -> CreateMessageResult:
        session = await info.context.session()
        if _one_of(imagePath, file, "imagePath", "file"):
            return _created(await session.create_image_upload(await _read(file)))
        return _created(await session.create_image_message(need(imagePath, "imagePath")))

    @strawberry.mutation(description="Create a voice message: upload it as `file` (<=28 MB) or give soundPath (a URL).")
    async def createSoundMessage(
        self, info: Ctx, soundPath: str | None = None, duration: int | None = None, file: Upload | None = None
    ) -> CreateMessageResult:
        session = await info.context.session()
        if _one_of(soundPath, file, "soundPath", "file"):
            return _created(await session.create_sound_upload(await _read(file), duration or 0))
        return _created(await session.create_sound_message(need(soundPath, "soundPath"), duration or 0))

    @strawberry.mutation(
        description="Create a video message: upload the video as `file` (<=100 MB) with an optional `snapshot` "
        "image, or give videoFilePath and snapshotPath (URLs)."
    )
    async def createVideoMessage(
        self,
        info: Ctx,
        videoFilePath: str | None = None,
        type: str | None = None,
        duration: int | None = None,
        snapshotPath: str | None = None,
        file: Upload | None = None,
        snapshot: Upload | None = None,
    ) -> CreateMessageResult:
        session = await info.context.session()
        if _one_of(videoFilePath, file, "videoFilePath", "file"):
            shot = await _read(snapshot, "snapshot") if snapshot is not None else None
            return _created(await session.create_video_upload(await _read(file), type or "", duration or 0, shot))
        created = await session.create_video_message(
            need(videoFilePath, "videoFilePath"), type or "", duration or 0, snapshotPath
        )
        return _created(created)

    @strawberry.mutation(description="Create a file message: upload it as `file` (<=100 MB) or give filePath (a URL).")
    async def createFileMessage(
        self, info: Ctx, filePath: str | None = None, fileName: str | None = None, file: Upload | None = None
    ) -> CreateMessageResult:
        session = await info.context.session()
        if _one_of(filePath, file, "filePath", "file"):
            upload_name = getattr(file, "filename", "") or ""
            return _created(await session.create_file_upload(await _read(file), fileName or upload_name))
        return _created(await session.create_file_message(need(filePath, "filePath"), fileName or ""))

    @strawberry.mutation(description="Create a location message.")
    async def createLocationMessage(
        self, info: Ctx, *, desc: str | None = None, longitude: float, latitude: float
    ) -> CreateMessageResult:
        session = await info.context.session()
        created = await session.create_location_message(desc or "", longitude, latitude)
        return _created(created)

    @strawberry.mutation(description="Create a face (emoji/sticker) message.")
    async def createFaceMessage(
        self, info: Ctx, index: int | None = None, data: str | None = None
    ) -> CreateMessageResult:
        return _created(await (await info.context.session()).create_face_message(index or 0, data or ""))

    @strawberry.mutation(description="Create a copy of a message you can see, to send elsewhere.")
    async def createForwardMessage(self, info: Ctx, msgID: str) -> CreateMessageResult:
        return _created(await (await info.context.session()).create_forward_message(msgID))

    @strawberry.mutation(
        description="A merged (chat record) message of up to 300 sent messages, copied as they are now; "
        "abstractList: at most 5 lines of at most 100 characters; compatibleText: what old clients show."
    )
    async def createMergerMessage(
        self,
        info: Ctx,
        *,
        msgIDList: list[str],
        title: str | None = None,
        abstractList: list[str] | None = None,
        compatibleText: str,
    ) -> CreateMessageResult:
        created = await (await info.context.session()).create_merger_message(
            msgIDList, title or "", abstractList or [], compatibleText
        )
        return _created(created)

    @strawberry.mutation(
        description="Send a created message to a user (receiver). Repeating a send with the same id returns "
        "the first result and stores nothing twice."
    )
    async def sendMessage(
        self,
        info: Ctx,
        id: str,
        receiver: str | None = None,
        groupID: str | None = None,
        priority: Priority = Priority.V2TIM_PRIORITY_DEFAULT,
        onlineUserOnly: bool = False,
        cloudCustomData: str | None = None,
        localCustomData: str | None = None,
        isExcludedFromUnreadCount: bool = False,
        isExcludedFromLastMessage: bool = False,
        isSupportMessageExtension: bool = False,
        needReadReceipt: bool = False,
        offlinePushInfo: OfflinePushInfoInput | None = None,
    ) -> Message:
        options = _send_options(
            priority,
            onlineUserOnly,
            localCustomData,
            isExcludedFromUnreadCount,
            isExcludedFromLastMessage,
            isSupportMessageExtension,
            needReadReceipt,
            offlinePushInfo,
            cloudCustomData,
        )
        sent = await (await info.context.session()).send_message(id, receiver, groupID, options)
        return gql(sent, Message)

    @strawberry.mutation(
        description="Send a text message in one request: createTextMessage and sendMessage together, with "
        "sendMessage's arguments, refusals and answer (its createdID empty). idempotencyKey (yours, at most 128 "
        "characters): repeating a send with the same key returns the first result and stores nothing twice."
    )
    async def sendTextMessage(
        self,
        info: Ctx,
        text: str,
        receiver: str | None = None,
        groupID: str | None = None,
        priority: Priority = Priority.V2TIM_PRIORITY_DEFAULT,
        onlineUserOnly: bool = False,
        cloudCustomData: str | None = None,
        localCustomData: str | None = None,
        isExcludedFromUnreadCount: bool = False,
        isExcludedFromLastMessage: bool = False,
        isSupportMessageExtension: bool = False,
        needReadReceipt: bool = False,
        offlinePushInfo: OfflinePushInfoInput | None = None,
        idempotencyKey: str | None = None,
    ) -> Message:
        options = _send_options(
            priority,
            onlineUserOnly,
            localCustomData,
            isExcludedFromUnreadCount,
            isExcludedFromLastMessage,
            isSupportMessageExtension,
            needReadReceipt,
            offlinePushInfo,
            cloudCustomData,
        )
        session = await info.context.session()
        return gql(await session.send_text_message(text, receiver, groupID, options, idempotencyKey), Message)

    @strawberry.mutation(
        description="Send a custom message (data, desc, extension) in one request: createCustomMessage and "
        "sendMessage together, as sendTextMessage."
    )
    async def sendCustomMessage(
        self,
        info: Ctx,
        data: str | None = None,
        desc: str | None = None,
        extension: str | None = None,
        receiver: str | None = None,
        groupID: str | None = None,
        priority: Priority = Priority.V2TIM_PRIORITY_DEFAULT,
        onlineUserOnly: bool = False,
        cloudCustomData: str | None = None,
        localCustomData: str | None = None,
        isExcludedFromUnreadCount: bool = False,
        isExcludedFromLastMessage: bool = False,
        isSupportMessageExtension: bool = False,
        needReadReceipt: bool = False,
        offlinePushInfo: OfflinePushInfoInput | None = None,
        idempotencyKey: str | None = None,
    ) -> Message:
        options = _send_options(
            priority,
            onlineUserOnly,
            localCustomData,
            isExcludedFromUnreadCount,
            isExcludedFromLastMessage,
            isSupportMessageExtension,
            needReadReceipt,
            offlinePushInfo,
            cloudCustomData,
        )
        session = await info.context.session()
        sent = await session.send_custom_message(
            data or "", desc or "", extension or "", receiver, groupID, options, idempotencyKey
        )
        return gql(sent, Message)

    @strawberry.mutation(
        description="Send a created message as a reply (quote) to replyMessage (its msgID; a message of the same "
        "conversation): the reference is kept in the reply's cloudCustomData as {messageReply: {messageID, "
        "messageAbstract, messageSender, messageType, version}}, as Tencent's chat UIs read it."
    )
    async def sendReplyMessage(
        self,
        info: Ctx,
        *,
        id: str,
        receiver: str | None = None,
        groupID: str | None = None,
        replyMessage: MessageInput,
        priority: Priority = Priority.V2TIM_PRIORITY_DEFAULT,
        onlineUserOnly: bool = False,
        localCustomData: str | None = None,
        isExcludedFromUnreadCount: bool = False,
        isExcludedFromLastMessage: bool = False,
        isSupportMessageExtension: bool = False,
        needReadReceipt: bool = False,
        offlinePushInfo: OfflinePushInfoInput | None = None,
    ) -> Message:
        options = _send_options(
            priority,
            onlineUserOnly,
            localCustomData,
            isExcludedFromUnreadCount,
            isExcludedFromLastMessage,
            isSupportMessageExtension,
            needReadReceipt,
            offlinePushInfo,
        )
        sent = await (await info.context.session()).send_reply_message(
            id, receiver, groupID, replyMessage.msgID, options
        )
        return gql(sent, Message)

    @strawberry.mutation(
        description="Say you read these messages (all of one conversation; those sent with needReadReceipt): "
        "their senders get onRecvMessageReadReceipts. Conversation unread counts do not change."
    )
    async def sendMessageReadReceipts(self, info: Ctx, msgIDList: list[str]) -> bool:
        await (await info.context.session()).send_message_read_receipts(msgIDList)
        return True

    @strawberry.mutation(
        description="Set extensions of a message (<=20 per call, <=300 per message; keys <=100 bytes, values "
        "<=1 KB); a result per key; every party gets onRecvMessageExtensionsChanged."
    )
    async def setMessageExtensions(
        self, info: Ctx, msgID: str, extensions: list[MessageExtensionInput]
    ) -> list[MessageExtensionResult]:
        given = extensions
        domain = [
            im.MessageExtension(
                extensionKey=e.extensionKey, extensionValue=e.extensionValue, extensionVersion=e.extensionVersion or 0
            )
            for e in given
        ]
        versioned = [e.extensionVersion is not None for e in given]
        results = await (await info.context.session()).set_message_extensions(msgID, domain, versioned)
        return gql(results, list[MessageExtensionResult])

    @strawberry.mutation(description="Delete extensions of a message; every party gets onRecvMessageExtensionsDeleted.")
    async def deleteMessageExtensions(self, info: Ctx, msgID: str, keys: list[str]) -> list[MessageExtensionResult]:
        results = await (await info.context.session()).delete_message_extensions(msgID, keys)
        return gql(results, list[MessageExtensionResult])

    @strawberry.mutation(
        description="A URL to download a message's media from (signed for you, valid for an hour): the image of "
        "imageType, a video's snapshot (isSnapshot) or the video, the voice, the file."
    )
    async def downloadMessage(
        self,
        info: Ctx,
        msgID: str,
        imageType: ImageType = ImageType.V2TIM_IMAGE_TYPE_ORIGIN,
        isSnapshot: bool = False,
    ) -> str:
        url = await (await info.context.session()).download_message(msgID, imageType, isSnapshot)
        return _absolute_url(url, _base_url(info))

    @strawberry.mutation(description="Revoke your message within 2 minutes of sending it (20016 after).")
    async def revokeMessage(self, info: Ctx, lastMsgID: str) -> bool:
        await (await info.context.session()).revoke_message(lastMsgID)
        return True

    @strawberry.mutation(
        description="Change your message's text or custom element, or its cloudCustomData; the loser of two "
        "concurrent modifications gets 8006."
    )
    async def modifyMessage(self, info: Ctx, message: MessageInput) -> Message:
        given = message
        content = None
        if given.textElem is not None and given.customElem is not None:
            raise invalid("message: change the textElem or the customElem, not both")
        if given.textElem is not None:
            content = im.Content(
                elemType=DomainElemType.V2TIM_ELEM_TYPE_TEXT, textElem=im.TextElem(text=given.textElem.text)
            )
        elif given.customElem is not None:
            elem = im.CustomElem(
                data=given.customElem.data, desc=given.customElem.desc, extension=given.customElem.extension
            )
            content = im.Content(elemType=DomainElemType.V2TIM_ELEM_TYPE_CUSTOM, customElem=elem)
        modified = await (await info.context.session()).modify_message(given.msgID, content, given.cloudCustomData)
        return gql(modified, Message)

    @strawberry.mutation(description="Mark a C2C conversation read; the peer gets onRecvC2CReadReceipt.")
    async def markC2CMessageAsRead(self, info: Ctx, userID: str) -> bool:
        await (await info.context.session()).mark_c2c_message_as_read(userID)
        return True

    @strawberry.mutation(description="Delete a message for yourself only.")
    async def deleteMessageFromLocalStorage(self, info: Ctx, msgID: str) -> bool:
        await (await info.context.session()).delete_message_from_local_storage(msgID)
        return True

    @strawberry.mutation(description="Clear a C2C conversation's history for yourself (the conversation stays).")
    async def clearC2CHistoryMessage(self, info: Ctx, userID: str) -> bool:
        await (await info.context.session()).clear_c2c_history_message(userID)
        return True

    @strawberry.mutation(description="Add a message (custom, data) to your own view of a C2C conversation.")
    async def insertC2CMessageToLocalStorage(
        self, info: Ctx, *, data: str | None = None, userID: str, sender: str
    ) -> Message:
        session = await info.context.session()
        inserted = await session.insert_c2c_message_to_local_storage(userID, sender, data or "")
        return gql(inserted, Message)

    @strawberry.mutation(description="Create a text message that @-mentions users (for a group; ≤30, @ALL included).")
    async def createTextAtMessage(self, info: Ctx, text: str, atUserList: list[str]) -> CreateMessageResult:
        return _created(await (await info.context.session()).create_text_at_message(text, atUserList))

    @strawberry.mutation(description="A created message with @ marks (msgID: a create*Message id).")
    async def createAtSignedGroupMessage(self, info: Ctx, msgID: str, atUserList: list[str]) -> CreateMessageResult:
        session = await info.context.session()
        return _created(await session.create_at_signed_group_message(msgID, atUserList))

    @strawberry.mutation(description="A created message for some members of a group only (msgID: a create*Message id).")
    async def createTargetedGroupMessage(self, info: Ctx, msgID: str, receiverList: list[str]) -> CreateMessageResult:
        session = await info.context.session()
        created = await session.create_targeted_group_message(msgID, receiverList)
        return _created(created)

    @strawberry.mutation(description="Mark a group (or topic) conversation read.")
    async def markGroupMessageAsRead(self, info: Ctx, groupID: str) -> bool:
        await (await info.context.session()).mark_group_message_as_read(groupID)
        return True

    @strawberry.mutation(description="Mark every conversation read.")
    async def markAllMessageAsRead(self, info: Ctx) -> bool:
        await (await info.context.session()).mark_all_message_as_read()
        return True

    @strawberry.mutation(description="Receive, not receive, or receive without push, a group's messages.")
    async def setGroupReceiveMessageOpt(self, info: Ctx, groupID: str, opt: MessageOpt) -> bool:
        await (await info.context.session()).set_group_receive_message_opt(groupID, opt)
        return True

    @strawberry.mutation(description="Clear a group conversation's history for yourself.")
    async def clearGroupHistoryMessage(self, info: Ctx, groupID: str) -> bool:
        await (await info.context.session()).clear_group_history_message(groupID)
        return True

    @strawberry.mutation(description="Add a message (custom, data) to your own view of a group conversation.")
    async def insertGroupMessageToLocalStorage(
        self, info: Ctx, *, data: str | None = None, groupID: str, sender: str
    ) -> Message:
        session = await info.context.session()
        inserted = await session.insert_group_message_to_local_storage(groupID, sender, data or "")
        return gql(inserted, Message)

    @strawberry.mutation(description="Receive, not receive, or receive without push, messages from ≤30 users.")
    async def setC2CReceiveMessageOpt(self, info: Ctx, userIDList: list[str], opt: MessageOpt) -> bool:
        await (await info.context.session()).set_c2c_receive_message_opt(userIDList, opt)
        return True


def _send_options(
    priority: Priority,
    online_user_only: bool,
    local_custom_data: str | None,
    excluded_from_unread: bool,
    excluded_from_last: bool,
    supports_extensions: bool,
    need_read_receipt: bool,
    offline_push_info: OfflinePushInfoInput | None,
    cloud_custom_data: str | None = None,
) -> im.SendOptions:
    """The options every send mutation shares (sendReplyMessage makes its own cloudCustomData)."""
    return im.SendOptions(
        cloudCustomData=cloud_custom_data,
        priority=priority,
        onlineUserOnly=online_user_only,
        localCustomData=local_custom_data or "",
        isExcludedFromUnreadCount=excluded_from_unread,
        isExcludedFromLastMessage=excluded_from_last,
        isSupportMessageExtension=supports_extensions,
        needReadReceipt=need_read_receipt,
        offlinePushInfo=offline_push_info.to_domain() if offline_push_info else None,
    )


def _one_of(path: str | None, upload: Upload | None, path_arg: str, upload_arg: str) -> bool:
    """True for an upload, False for a URL; 6017 for both or neither."""
    if (path is None) == (upload is None):
        raise invalid(f"give {path_arg} (a URL) or {upload_arg} (an upload), one of them")
    return upload is not None


async def _read(upload: Upload | None, arg: str = "file") -> bytes:
    """An upload's bytes. The Upload scalar lets any value through (an inline string, a number), so
    what is not a file part of a multipart request is refused here, with the argument's name."""
    if upload is None:
        return b""
    read = getattr(upload, "read", None)
    if read is None:
        raise invalid(
            f"{arg}: an Upload is a file part of a multipart request (the GraphQL multipart request spec), "
            f"not an inline {type(upload).__name__}"
        )
    return bytes(await read())


def _base_url(info: Ctx) -> str:
    return str(info.context.request.base_url).rstrip("/")


def _absolute_url(url: str, base: str) -> str:
    return base + url if url.startswith("/media/") else url


def _absolute(elem: Any, base: str, *fields: str) -> Any:
    return msgspec.structs.replace(elem, **{f: _absolute_url(getattr(elem, f), base) for f in fields})


def _absolute_image(elem: im.ImageElem, base: str) -> im.ImageElem:
    return im.ImageElem(path=elem.path, imageList=[_absolute(i, base, "url") for i in elem.imageList])
