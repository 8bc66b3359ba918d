"""The message part of IMSession: V2TIMMessageManager for the logged-in user."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from gateway.errors import invalid
from gateway.ids import check_group_id, check_user_id, check_user_id_list
from gateway.im.enums import ElemType, GetType, ImageType, MessageOpt, MsgStatus
from gateway.im.messages import (
    Content,
    CreatedMessage,
    CustomElem,
    FaceElem,
    FileElem,
    GroupMessageReadMembers,
    Image,
    ImageElem,
    LocationElem,
    Message,
    MessageExtension,
    MessageExtensionResult,
    MessageReceipt,
    MessageSearchResult,
    ReceiveOpt,
    SearchParam,
    SendOptions,
    SoundElem,
    TextElem,
    VideoElem,
)
from gateway.media.urls import URL_MAX_LENGTH, is_http_url

if TYPE_CHECKING:
    from gateway.backend import MessageManager


def media_url(value: str, arg: str) -> str:
    """Media given by path must be a URL the receivers can fetch (the gateway reads no local files)."""
    if not is_http_url(value):
        raise invalid(f"{arg} must be an http(s) URL of at most {URL_MAX_LENGTH} characters")
    return value


class MessageSession:
    """Mixed into IMSession, which sets these attributes."""

    user_id: str
    session_id: str
    _messages: MessageManager

    async def _create(self, content: Content) -> CreatedMessage:
        return await self._messages.create_message(self.user_id, content)

    # ---- create*Message ----------------------------------------------------------------------------
    async def create_text_message(self, text: str) -> CreatedMessage:
        return await self._create(Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=text)))

    async def create_custom_message(self, data: str, desc: str, extension: str) -> CreatedMessage:
        elem = CustomElem(data=data, desc=desc, extension=extension)
        return await self._create(Content(elemType=ElemType.V2TIM_ELEM_TYPE_CUSTOM, customElem=elem))

    async def create_location_message(self, desc: str, longitude: float, latitude: float) -> CreatedMessage:
        if not (-180.0 <= longitude <= 180.0 and -90.0 <= latitude <= 90.0):
            raise invalid("longitude must be -180..180 and latitude -90..90")
        elem = LocationElem(desc=desc, longitude=longitude, latitude=latitude)
        return await self._create(Content(elemType=ElemType.V2TIM_ELEM_TYPE_LOCATION, locationElem=elem))

    async def create_face_message(self, index: int, data: str) -> CreatedMessage:
        return await self._create(
            Content(elemType=ElemType.V2TIM_ELEM_TYPE_FACE, faceElem=FaceElem(index=index, data=data))
        )

    async def create_image_message(self, image_path: str) -> CreatedMessage:
        url = media_url(image_path, "imagePath")
        elem = ImageElem(path=url, imageList=[Image(type=ImageType.V2TIM_IMAGE_TYPE_ORIGIN, url=url)])
        return await self._create(Content(elemType=ElemType.V2TIM_ELEM_TYPE_IMAGE, imageElem=elem))

    async def create_sound_message(self, sound_path: str, duration: int) -> CreatedMessage:
        if duration < 0:
            raise invalid("duration must be 0 or more seconds")
        url = media_url(sound_path, "soundPath")
        elem = SoundElem(path=url, url=url, duration=duration)
        return await self._create(Content(elemType=ElemType.V2TIM_ELEM_TYPE_SOUND, soundElem=elem))

    async def create_video_message(
        self, video_path: str, video_type: str, duration: int, snapshot_path: str | None
    ) -> CreatedMessage:
        if duration < 0:
            raise invalid("duration must be 0 or more seconds")
        url = media_url(video_path, "videoFilePath")
        snapshot = media_url(snapshot_path, "snapshotPath") if snapshot_path else ""
        elem = VideoElem(
            videoPath=url,
            videoUrl=url,
            videoType=video_type,
            duration=duration,
            snapshotPath=snapshot,
            snapshotUrl=snapshot,
        )
        return await self._create(Content(elemType=ElemType.V2TIM_ELEM_TYPE_VIDEO, videoElem=elem))

    async def create_file_message(self, file_path: str, file_name: str) -> CreatedMessage:
        url = media_url(file_path, "filePath")
        name = file_name or urlparse(url).path.rsplit("/", 1)[-1] or "file"
        elem = FileElem(path=url, url=url, fileName=name)
        return await self._create(Content(elemType=ElemType.V2TIM_ELEM_TYPE_FILE, fileElem=elem))

    async def create_forward_message(self, msg_id: str) -> CreatedMessage:
        original = await self._messages.load_visible(self.user_id, msg_id)
        # as merging: only a message that was sent and stands (a revoked one's content is gone)
        if original.status != MsgStatus.V2TIM_MSG_STATUS_SEND_SUCC:
            raise invalid("msgID: not a sent message (revoked or local only): it cannot be forwarded")
        if original.content.elemType == ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS:
            raise invalid("msgID: group tips cannot be forwarded")
        return await self._create(original.content)

    async def create_merger_message(
        self, msg_ids: list[str], title: str, abstracts: list[str], compatible_text: str
    ) -> CreatedMessage:
        return await self._messages.create_merger_message(self.user_id, msg_ids, title, abstracts, compatible_text)

    async def download_merger_message(self, msg_id: str) -> list[Message]:
        return await self._messages.download_merger_message(self.user_id, msg_id)

    async def search_messages(self, param: SearchParam) -> MessageSearchResult:
        return await self._messages.search_messages(self.user_id, param)

    async def get_message_extensions(self, msg_id: str) -> list[MessageExtension]:
        return await self._messages.get_message_extensions(self.user_id, msg_id)

    async def set_message_extensions(
        self, msg_id: str, extensions: list[MessageExtension], versioned: list[bool]
    ) -> list[MessageExtensionResult]:
        return await self._messages.set_message_extensions(self.user_id, self.session_id, msg_id, extensions, versioned)

    async def delete_message_extensions(self, msg_id: str, keys: list[str]) -> list[MessageExtensionResult]:
        return await self._messages.delete_message_extensions(self.user_id, self.session_id, msg_id, keys)

    # ---- sending -----------------------------------------------------------------------------------
    async def send_message(
        self, created_id: str, receiver: str | None, group_id: str | None, options: SendOptions
    ) -> Message:
        if not created_id:
            raise invalid("id is required: pass the id a create*Message call returned")
        if group_id:
            target = check_user_id(receiver, "receiver") if receiver else None
            return await self._messages.send_group_message(
                self.user_id, self.session_id, created_id, check_group_id(group_id), options, target
            )
        if not receiver:
            raise invalid("receiver or groupID is required")
        return await self._messages.send_c2c_message(
            self.user_id, self.session_id, created_id, check_user_id(receiver, "receiver"), options
        )

    async def send_text_message(
        self, text: str, receiver: str | None, group_id: str | None, options: SendOptions, idempotency_key: str | None
    ) -> Message:
        """sendTextMessage: createTextMessage and sendMessage in one request."""
        content = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=text))
        return await self._send_content(content, receiver, group_id, options, idempotency_key)

    async def send_custom_message(
        self,
        data: str,
        desc: str,
        extension: str,
        receiver: str | None,
        group_id: str | None,
        options: SendOptions,
        idempotency_key: str | None,
    ) -> Message:
        """sendCustomMessage: createCustomMessage and sendMessage in one request."""
        elem = CustomElem(data=data, desc=desc, extension=extension)
        content = Content(elemType=ElemType.V2TIM_ELEM_TYPE_CUSTOM, customElem=elem)
        return await self._send_content(content, receiver, group_id, options, idempotency_key)

    async def _send_content(
        self,
        content: Content,
        receiver: str | None,
        group_id: str | None,
        options: SendOptions,
        idempotency_key: str | None,
    ) -> Message:
        """Routed as send_message routes a created message (groupID with a receiver: to that member)."""
        if group_id:
            target = check_user_id(receiver, "receiver") if receiver else None
            return await self._messages.send_group_content(
                self.user_id,
                self.session_id,
                content,
                check_group_id(group_id),
                options,
                target,
                idempotency_key=idempotency_key,
            )
        if not receiver:
            raise invalid("receiver or groupID is required")
        return await self._messages.send_c2c_content(
            self.user_id,
            self.session_id,
            content,
            check_user_id(receiver, "receiver"),
            options,
            idempotency_key=idempotency_key,
        )

    # ---- history and lookups -------------------------------------------------------------------------
    async def get_c2c_history_message_list(self, peer: str, count: int, last_msg_id: str | None) -> list[Message]:
        return await self._messages.get_c2c_history_message_list(
            self.user_id, check_user_id(peer), count, last_msg_id=last_msg_id
        )

    async def get_history_message_list(
        self,
        *,
        peer: str | None,
        group_id: str | None,
        count: int,
        get_type: GetType,
        last_msg_id: str | None,
        message_types: list[ElemType],
        time_begin: int,
        time_period: int,
        last_seq: int | None = None,
        seq_list: list[int] | None = None,
    ) -> list[Message]:
        seq_list = seq_list or []
        if bool(peer) == bool(group_id):
            raise invalid("give exactly one of userID (C2C) and groupID (group)")
        if group_id:
            return await self._messages.get_group_history_message_list(
                self.user_id,
                check_group_id(group_id),
                count,
                get_type=get_type,
                last_msg_id=last_msg_id,
                last_seq=last_seq,
                seq_list=seq_list,
                message_types=message_types,
                time_begin=time_begin,
                time_period=time_period,
            )
        return await self._messages.get_c2c_history_message_list(
            self.user_id,
            check_user_id(peer or ""),
            count,
            get_type=get_type,
            last_msg_id=last_msg_id,
            message_types=message_types,
            time_begin=time_begin,
            time_period=time_period,
        )

    async def find_messages(self, msg_ids: list[str]) -> list[Message]:
        return await self._messages.find_messages(self.user_id, msg_ids)

    async def send_message_read_receipts(self, msg_ids: list[str]) -> None:
        await self._messages.send_message_read_receipts(self.user_id, msg_ids)

    async def get_message_read_receipts(self, msg_ids: list[str]) -> list[MessageReceipt]:
        return await self._messages.get_message_read_receipts(self.user_id, msg_ids)

    async def get_group_message_read_member_list(
        self, msg_id: str, read_filter: int, next_seq: int, count: int
    ) -> GroupMessageReadMembers:
        return await self._messages.get_group_message_read_member_list(
            self.user_id, msg_id, read_filter, next_seq, count
        )

    async def send_reply_message(
        self, created_id: str, receiver: str | None, group_id: str | None, replied_id: str, options: SendOptions
    ) -> Message:
        options.cloudCustomData = await self._messages.reply_data(self.user_id, replied_id, receiver, group_id)
        return await self.send_message(created_id, receiver, group_id, options)

    # ---- changes -----------------------------------------------------------------------------------
    async def revoke_message(self, msg_id: str) -> None:
        await self._messages.revoke_message(self.user_id, self.session_id, msg_id)

    async def modify_message(self, msg_id: str, content: Content | None, cloud_custom_data: str | None) -> Message:
        return await self._messages.modify_message(self.user_id, self.session_id, msg_id, content, cloud_custom_data)

    async def mark_c2c_message_as_read(self, peer: str) -> None:
        await self._messages.mark_c2c_message_as_read(self.user_id, check_user_id(peer))

    async def delete_message_from_local_storage(self, msg_id: str) -> None:
        await self._messages.delete_message_from_local_storage(self.user_id, msg_id)

    async def clear_c2c_history_message(self, peer: str) -> None:
        await self._messages.clear_c2c_history_message(self.user_id, check_user_id(peer))

    async def insert_c2c_message_to_local_storage(self, peer: str, sender: str, data: str) -> Message:
        content = Content(elemType=ElemType.V2TIM_ELEM_TYPE_CUSTOM, customElem=CustomElem(data=data))
        return await self._messages.insert_c2c_message_to_local_storage(
            self.user_id, check_user_id(peer), check_user_id(sender, "sender"), content
        )

    # ---- group messages ------------------------------------------------------------------------------
    async def create_text_at_message(self, text: str, at_users: list[str]) -> CreatedMessage:
        created = await self.create_text_message(text)
        return await self._messages.derive_created_message(self.user_id, created.id, at_users=at_users)

    async def create_at_signed_group_message(self, created_id: str, at_users: list[str]) -> CreatedMessage:
        return await self._messages.derive_created_message(self.user_id, created_id, at_users=at_users)

    async def create_targeted_group_message(self, created_id: str, receivers: list[str]) -> CreatedMessage:
        return await self._messages.derive_created_message(
            self.user_id, created_id, targets=check_user_id_list(receivers, "receiverList")
        )

    async def get_group_history_message_list(self, group_id: str, count: int, msg_id: str | None) -> list[Message]:
        return await self._messages.get_group_history_message_list(
            self.user_id, check_group_id(group_id), count, last_msg_id=msg_id
        )

    async def mark_group_message_as_read(self, group_id: str) -> None:
        await self._messages.mark_group_message_as_read(self.user_id, check_group_id(group_id))

    async def mark_all_message_as_read(self) -> None:
        await self._messages.mark_all_message_as_read(self.user_id)

    async def set_group_receive_message_opt(self, group_id: str, opt: MessageOpt) -> None:
        await self._messages.set_group_receive_message_opt(self.user_id, check_group_id(group_id), opt)

    async def clear_group_history_message(self, group_id: str) -> None:
        await self._messages.clear_group_history_message(self.user_id, check_group_id(group_id))

    async def insert_group_message_to_local_storage(self, group_id: str, sender: str, data: str) -> Message:
        content = Content(elemType=ElemType.V2TIM_ELEM_TYPE_CUSTOM, customElem=CustomElem(data=data))
        return await self._messages.insert_group_message_to_local_storage(
            self.user_id, check_group_id(group_id), check_user_id(sender, "sender"), content
        )

    async def set_c2c_receive_message_opt(self, user_ids: list[str], opt: MessageOpt) -> None:
        await self._messages.set_c2c_receive_message_opt(self.user_id, check_user_id_list(user_ids), opt)

    async def get_c2c_receive_message_opt(self, user_ids: list[str]) -> list[ReceiveOpt]:
        return await self._messages.get_c2c_receive_message_opt(self.user_id, check_user_id_list(user_ids))
