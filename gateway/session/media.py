"""The media part of IMSession: create*Message from uploaded files, getMessageOnlineUrl and
downloadMessage (signed URLs for one user, after checking they can see the message).

Uploaded media are stored once and named in the message by their store key (the elements' UUID),
never by a URL: a URL is only ever issued per user and for a while, so only the message's
participants can fetch its media (gateway.media.signing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from gateway.errors import invalid
from gateway.im.enums import ElemType, ImageType
from gateway.im.messages import Content, CreatedMessage, FileElem, Image, ImageElem, SoundElem, VideoElem
from gateway.media import images

if TYPE_CHECKING:
    from gateway.backend import MessageManager
    from gateway.clock import Clock
    from gateway.media.signing import MediaSigner
    from gateway.media.store import MediaStore

IMAGE_MAX_BYTES = 28 * 1024 * 1024  # the SDK's limits
SOUND_MAX_BYTES = 28 * 1024 * 1024
VIDEO_MAX_BYTES = 100 * 1024 * 1024
FILE_MAX_BYTES = 100 * 1024 * 1024
FILE_NAME_MAX = 255


def _check_size(data: bytes, limit: int, arg: str) -> None:
    if not data:
        raise invalid(f"{arg}: the upload is empty")
    if len(data) > limit:
        raise invalid(f"{arg}: at most {limit // (1024 * 1024)} MB")


class MediaSession:
    """Mixed into IMSession, which sets these attributes."""

    user_id: str
    _messages: MessageManager
    _media: MediaStore
    _signer: MediaSigner
    _clock: Clock

    async def _create_media(self, content: Content) -> CreatedMessage:
        return await self._messages.create_message(self.user_id, content)

    async def create_image_upload(self, data: bytes) -> CreatedMessage:
        _check_size(data, IMAGE_MAX_BYTES, "file")
        original = images.inspect(data)
        image_list = []
        for kind, picture in (
            (ImageType.V2TIM_IMAGE_TYPE_ORIGIN, original),
            (ImageType.V2TIM_IMAGE_TYPE_THUMB, images.rendition(original, images.THUMB_MAX_SIDE)),
            (ImageType.V2TIM_IMAGE_TYPE_LARGE, images.rendition(original, images.LARGE_MAX_SIDE)),
        ):
            key = await self._media.put(picture.data, picture.suffix)
            image_list.append(
                Image(type=kind, url="", UUID=key, size=len(picture.data), width=picture.width, height=picture.height)
            )
        elem = ImageElem(imageList=image_list)
        return await self._create_media(Content(elemType=ElemType.V2TIM_ELEM_TYPE_IMAGE, imageElem=elem))

    async def create_sound_upload(self, data: bytes, duration: int) -> CreatedMessage:
        _check_size(data, SOUND_MAX_BYTES, "file")
        if duration < 0:
            raise invalid("duration must be 0 or more seconds")
        key = await self._media.put(data, "")
        elem = SoundElem(UUID=key, dataSize=len(data), duration=duration)
        return await self._create_media(Content(elemType=ElemType.V2TIM_ELEM_TYPE_SOUND, soundElem=elem))

    async def create_video_upload(
        self, data: bytes, video_type: str, duration: int, snapshot: bytes | None
    ) -> CreatedMessage:
        _check_size(data, VIDEO_MAX_BYTES, "file")
        if duration < 0:
            raise invalid("duration must be 0 or more seconds")
        elem = VideoElem(
            UUID=await self._media.put(data, ""), videoSize=len(data), videoType=video_type, duration=duration
        )
        if snapshot is not None:
            _check_size(snapshot, IMAGE_MAX_BYTES, "snapshot")
            picture = images.inspect(snapshot)
            elem.snapshotUUID = await self._media.put(snapshot, picture.suffix)
            elem.snapshotSize, elem.snapshotWidth, elem.snapshotHeight = len(snapshot), picture.width, picture.height
        return await self._create_media(Content(elemType=ElemType.V2TIM_ELEM_TYPE_VIDEO, videoElem=elem))

    async def create_file_upload(self, data: bytes, file_name: str) -> CreatedMessage:
        _check_size(data, FILE_MAX_BYTES, "file")
        name = file_name.strip() or "file"
        if len(name) > FILE_NAME_MAX or "/" in name or "\\" in name:
            raise invalid(f"fileName: a plain name of at most {FILE_NAME_MAX} characters")
        elem = FileElem(UUID=await self._media.put(data, ""), fileName=name, fileSize=len(data))
        return await self._create_media(Content(elemType=ElemType.V2TIM_ELEM_TYPE_FILE, fileElem=elem))

    # ---- fetching ------------------------------------------------------------------------------
    async def get_message_online_url(self, msg_id: str) -> Content:
        """The message's media element with fetchable URLs for this user: signed ones for uploads,
        the sender's own for media given by URL."""
        content = (await self._messages.load_visible(self.user_id, msg_id)).content
        media = (content.imageElem, content.soundElem, content.videoElem, content.fileElem)
        if all(e is None for e in media):
            raise invalid("msgID: not an image, voice, video or file message")
        signed = msgspec.structs.replace(content)
        if content.imageElem is not None:
            signed.imageElem = ImageElem(
                path=content.imageElem.path,
                imageList=[
                    msgspec.structs.replace(i, url=self._url(i.UUID, i.url)) for i in content.imageElem.imageList
                ],
            )
        if content.soundElem is not None:
            signed.soundElem = msgspec.structs.replace(
                content.soundElem, url=self._url(content.soundElem.UUID, content.soundElem.url)
            )
        if content.videoElem is not None:
            v = content.videoElem
            signed.videoElem = msgspec.structs.replace(
                v, videoUrl=self._url(v.UUID, v.videoUrl), snapshotUrl=self._url(v.snapshotUUID, v.snapshotUrl)
            )
        if content.fileElem is not None:
            signed.fileElem = msgspec.structs.replace(
                content.fileElem, url=self._url(content.fileElem.UUID, content.fileElem.url)
            )
        return signed

    async def download_message(self, msg_id: str, image_type: ImageType, is_snapshot: bool) -> str:
        """One URL: the image of `image_type`, the video's snapshot or the video, the file, the voice."""
        content = await self.get_message_online_url(msg_id)
        if content.imageElem is not None:
            for image in content.imageElem.imageList:
                if image.type == image_type:
                    return image.url
            raise invalid(f"imageType: this image has no {image_type.name}")
        if content.videoElem is not None:
            url = content.videoElem.snapshotUrl if is_snapshot else content.videoElem.videoUrl
            if not url:
                raise invalid("isSnapshot: this video has no snapshot")
            return url
        if content.soundElem is not None:
            return content.soundElem.url
        assert content.fileElem is not None  # get_message_online_url refused everything else
        return content.fileElem.url

    def _url(self, key: str, given: str) -> str:
        return self._signer.url(key, self.user_id, self._clock.now()) if key else given
