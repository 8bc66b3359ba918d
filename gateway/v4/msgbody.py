"""`MsgBody` (Tencent's message body: a list of `{MsgType, MsgContent}` elements) <-> imql content.

An imql message carries exactly one element (`gateway.im.messages.Content`), as a V2TIM message
without `appendElem` does; a body of several elements is refused with 90002 rather than cut (the
difference is documented in README, "Server API"). Media elements carry URLs as they are stored:
an uploaded file's key is turned into a URL by the caller's `media_url` (the REST server signs one
for the admin), an http(s) URL passes through.

Tencent's image rendition types are 1 original, 2 large, 3 thumbnail; V2TIM's are 0 origin,
1 thumb, 2 large. Image formats: JPG 1, GIF 2, PNG 3, BMP 4, other 255.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.digits import INT32_MAX, INT32_MIN
from gateway.errors import IMError
from gateway.im.enums import ElemType, ImageType
from gateway.im.messages import (
    Content,
    CustomElem,
    FaceElem,
    FileElem,
    Image,
    ImageElem,
    LocationElem,
    OfflinePushInfo,
    SoundElem,
    TextElem,
    VideoElem,
)
from gateway.media.urls import URL_MAX_LENGTH, is_http_url
from gateway.v4.fields import Body

MSGBODY_INVALID = 90002  # "MsgBody is not as required" (openim); group calls use 10004 via `invalid_code`
DOWNLOAD_FLAG = 2  # Tencent's value for "download from the URL given"

_REST_TO_IMAGE_TYPE = {
    1: ImageType.V2TIM_IMAGE_TYPE_ORIGIN,
    2: ImageType.V2TIM_IMAGE_TYPE_LARGE,
    3: ImageType.V2TIM_IMAGE_TYPE_THUMB,
}
_IMAGE_TYPE_TO_REST = {v: k for k, v in _REST_TO_IMAGE_TYPE.items()}
_IMAGE_FORMATS = {"jpg": 1, "jpeg": 1, "gif": 2, "png": 3, "bmp": 4}

MediaUrl = Callable[[str], str]


def _same(url: str) -> str:
    return url


def content_from_msgbody(value: Any, invalid_code: int = MSGBODY_INVALID) -> Content:
    """The content of a request's `MsgBody`; refuses a malformed or multi-element body with `invalid_code`."""
    if not isinstance(value, list) or not value or not all(isinstance(e, dict) for e in value):
        raise IMError(invalid_code, "MsgBody must be a non-empty list of {MsgType, MsgContent} objects")
    if len(value) > 1:
        raise IMError(invalid_code, "MsgBody: imql messages carry one element; send one element per message")
    elem = Body(value[0], invalid_code, "MsgBody[0]")
    kind = elem.string("MsgType")
    c = elem.object("MsgContent")
    match kind:
        case "TIMTextElem":
            return Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=c.string("Text", empty=True)))
        case "TIMCustomElem":
            custom = CustomElem(
                data=c.string("Data", "", empty=True),
                desc=c.string("Desc", "", empty=True),
                extension=c.string("Ext", "", empty=True),
            )
            return Content(elemType=ElemType.V2TIM_ELEM_TYPE_CUSTOM, customElem=custom)
        case "TIMFaceElem":
            index = c.integer("Index", 0, lo=INT32_MIN, hi=INT32_MAX)
            face = FaceElem(index=index, data=c.string("Data", "", empty=True))
            return Content(elemType=ElemType.V2TIM_ELEM_TYPE_FACE, faceElem=face)
        case "TIMLocationElem":
            location = LocationElem(
                desc=c.string("Desc", "", empty=True),
                latitude=_number(c, "Latitude"),
                longitude=_number(c, "Longitude"),
            )
            return Content(elemType=ElemType.V2TIM_ELEM_TYPE_LOCATION, locationElem=location)
        case "TIMImageElem":
            images = [
                Image(
                    type=_REST_TO_IMAGE_TYPE[i.integer("Type", lo=1, hi=3)],
                    url=_url(i, "URL"),
                    UUID=c.string("UUID", "", empty=True),
                    size=i.integer("Size", 0, lo=0, hi=INT32_MAX),
                    width=i.integer("Width", 0, lo=0, hi=INT32_MAX),
                    height=i.integer("Height", 0, lo=0, hi=INT32_MAX),
                )
                for i in c.objects("ImageInfoArray", max_items=3)
            ]
            return Content(elemType=ElemType.V2TIM_ELEM_TYPE_IMAGE, imageElem=ImageElem(imageList=images))
        case "TIMSoundElem":
            sound = SoundElem(
                url=_url(c, "Url"),
                UUID=c.string("UUID", "", empty=True),
                dataSize=c.integer("Size", 0, lo=0, hi=INT32_MAX),
                duration=c.integer("Second", 0, lo=0, hi=INT32_MAX),
            )
            return Content(elemType=ElemType.V2TIM_ELEM_TYPE_SOUND, soundElem=sound)
        case "TIMFileElem":
            file = FileElem(
                url=_url(c, "Url"),
                UUID=c.string("UUID", "", empty=True),
                fileName=c.string("FileName", "", empty=True),
                fileSize=c.integer("FileSize", 0, lo=0, hi=INT32_MAX),
            )
            return Content(elemType=ElemType.V2TIM_ELEM_TYPE_FILE, fileElem=file)
        case "TIMVideoFileElem":
            video = VideoElem(
                videoUrl=_url(c, "VideoUrl"),
                UUID=c.string("VideoUUID", "", empty=True),
                videoSize=c.integer("VideoSize", 0, lo=0, hi=INT32_MAX),
                duration=c.integer("VideoSecond", 0, lo=0, hi=INT32_MAX),
                videoType=c.string("VideoFormat", "", empty=True),
                snapshotUrl=_url(c, "ThumbUrl", required=False),
                snapshotUUID=c.string("ThumbUUID", "", empty=True),
                snapshotSize=c.integer("ThumbSize", 0, lo=0, hi=INT32_MAX),
                snapshotWidth=c.integer("ThumbWidth", 0, lo=0, hi=INT32_MAX),
                snapshotHeight=c.integer("ThumbHeight", 0, lo=0, hi=INT32_MAX),
            )
            return Content(elemType=ElemType.V2TIM_ELEM_TYPE_VIDEO, videoElem=video)
    raise IMError(
        invalid_code,
        f"MsgBody[0].MsgType {kind!r} is not supported (TIMTextElem, TIMCustomElem, "
        "TIMFaceElem, TIMLocationElem, TIMImageElem, TIMSoundElem, TIMFileElem, TIMVideoFileElem)",
    )


def _url(body: Body, name: str, *, required: bool = True) -> str:
    """A media URL: http(s), as any message's media (gateway.media.urls); "" when optional and absent."""
    value: str = body.string(name) if required else body.string(name, "", empty=True)
    if value and not is_http_url(value):
        raise body.error(f"{name} must be an http(s) URL of at most {URL_MAX_LENGTH} characters")
    return value


def _number(body: Body, name: str) -> float:
    value = body.raw.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise body.error(f"{name} must be a number")
    return float(value)


def _format_of(url: str) -> int:
    suffix = url.rsplit("?", 1)[0].rsplit(".", 1)[-1].lower()
    return _IMAGE_FORMATS.get(suffix, 255)


def msgbody_from_content(content: Content, media_url: MediaUrl = _same) -> list[dict[str, Any]]:
    """A stored message's content as Tencent's `MsgBody` (one element)."""
    t = ElemType
    if content.elemType == t.V2TIM_ELEM_TYPE_TEXT and content.textElem is not None:
        return [_elem("TIMTextElem", {"Text": content.textElem.text})]
    if content.elemType == t.V2TIM_ELEM_TYPE_CUSTOM and content.customElem is not None:
        e = content.customElem
        return [_elem("TIMCustomElem", {"Data": e.data, "Desc": e.desc, "Ext": e.extension, "Sound": ""})]
    if content.elemType == t.V2TIM_ELEM_TYPE_FACE and content.faceElem is not None:
        return [_elem("TIMFaceElem", {"Index": content.faceElem.index, "Data": content.faceElem.data})]
    if content.elemType == t.V2TIM_ELEM_TYPE_LOCATION and content.locationElem is not None:
        loc = content.locationElem
        return [_elem("TIMLocationElem", {"Desc": loc.desc, "Latitude": loc.latitude, "Longitude": loc.longitude})]
    if content.elemType == t.V2TIM_ELEM_TYPE_IMAGE and content.imageElem is not None:
        images = content.imageElem.imageList
        originals = [i for i in images if i.type == ImageType.V2TIM_IMAGE_TYPE_ORIGIN] or images
        original = originals[0] if originals else None
        return [
            _elem(
                "TIMImageElem",
                {
                    "UUID": original.UUID if original else "",
                    "ImageFormat": _format_of(original.url or original.UUID) if original else 255,
                    "ImageInfoArray": [
                        {
                            "Type": _IMAGE_TYPE_TO_REST[i.type],
                            "Size": i.size,
                            "Width": i.width,
                            "Height": i.height,
                            "URL": media_url(i.url or i.UUID),
                        }
                        for i in images
                    ],
                },
            )
        ]
    if content.elemType == t.V2TIM_ELEM_TYPE_SOUND and content.soundElem is not None:
        s = content.soundElem
        return [
            _elem(
                "TIMSoundElem",
                {
                    "Url": media_url(s.url or s.UUID),
                    "UUID": s.UUID,
                    "Size": s.dataSize,
                    "Second": s.duration,
                    "Download_Flag": DOWNLOAD_FLAG,
                },
            )
        ]
    if content.elemType == t.V2TIM_ELEM_TYPE_FILE and content.fileElem is not None:
        f = content.fileElem
        return [
            _elem(
                "TIMFileElem",
                {
                    "Url": media_url(f.url or f.UUID),
                    "UUID": f.UUID,
                    "FileSize": f.fileSize,
                    "FileName": f.fileName,
                    "Download_Flag": DOWNLOAD_FLAG,
                },
            )
        ]
    if content.elemType == t.V2TIM_ELEM_TYPE_VIDEO and content.videoElem is not None:
        v = content.videoElem
        return [
            _elem(
                "TIMVideoFileElem",
                {
                    "VideoUrl": media_url(v.videoUrl or v.UUID),
                    "VideoUUID": v.UUID,
                    "VideoSize": v.videoSize,
                    "VideoSecond": v.duration,
                    "VideoFormat": v.videoType,
                    "VideoDownloadFlag": DOWNLOAD_FLAG,
                    "ThumbUrl": media_url(v.snapshotUrl or v.snapshotUUID) if v.snapshotUrl or v.snapshotUUID else "",
                    "ThumbUUID": v.snapshotUUID,
                    "ThumbSize": v.snapshotSize,
                    "ThumbWidth": v.snapshotWidth,
                    "ThumbHeight": v.snapshotHeight,
                    "ThumbFormat": _format_of(v.snapshotUrl) if v.snapshotUrl else 255,
                    "ThumbDownloadFlag": DOWNLOAD_FLAG,
                },
            )
        ]
    if content.elemType == t.V2TIM_ELEM_TYPE_MERGER and content.mergerElem is not None:
        m = content.mergerElem
        return [
            _elem(
                "TIMRelayElem",
                {
                    "Title": m.title,
                    "MsgNum": len(m.msgIDList),
                    "CompatibleText": m.compatibleText,
                    "AbstractList": list(m.abstractList),
                },
            )
        ]
    if content.elemType == t.V2TIM_ELEM_TYPE_GROUP_TIPS and content.groupTipsElem is not None:
        tips = content.groupTipsElem
        return [
            _elem(
                "TIMGroupTipElem",
                {
                    "OpType": int(tips.type),
                    "Operator_Account": tips.opMember.userID,
                    "MemberList_Account": [m.userID for m in tips.memberList],
                },
            )
        ]
    return [_elem("TIMCustomElem", {"Data": "", "Desc": "", "Ext": "", "Sound": ""})]


def _elem(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"MsgType": kind, "MsgContent": content}


def offline_push_from_rest(value: Any, invalid_code: int = MSGBODY_INVALID) -> OfflinePushInfo | None:
    """`OfflinePushInfo` of a send request as imql's (PushFlag 1: no push)."""
    if value is None:
        return None
    info = Body(value, invalid_code, "OfflinePushInfo") if isinstance(value, dict) else None
    if info is None:
        raise IMError(invalid_code, "OfflinePushInfo must be an object")
    android = info.object("AndroidInfo", None)
    apns = info.object("ApnsInfo", None)
    return OfflinePushInfo(
        title=info.string("Title", "", empty=True),
        desc=info.string("Desc", "", empty=True),
        ext=info.string("Ext", "", empty=True),
        disablePush=info.integer("PushFlag", 0, lo=0, hi=1) == 1,
        AndroidSound=android.string("Sound", "", empty=True) if android else "",
        AndroidOPPOChannelID=android.string("OPPOChannelID", "", empty=True) if android else "",
        AndroidXiaoMiChannelID=android.string("XiaoMiChannelID", "", empty=True) if android else "",
        AndroidFCMChannelID=android.string("GoogleChannelID", "", empty=True) if android else "",
        AndroidVIVOCategory=android.string("VIVOCategory", "", empty=True) if android else "",
        AndroidHuaWeiCategory=android.string("HuaWeiCategory", "", empty=True) if android else "",
        IOSSound=apns.string("Sound", "", empty=True) if apns else "",
        ignoreIOSBadge=(apns.integer("BadgeMode", 0, lo=0, hi=1) == 1) if apns else False,
    )


def offline_push_to_rest(info: OfflinePushInfo | None) -> dict[str, Any] | None:
    """imql's offline push options in Tencent's `OfflinePushInfo` shape (callbacks, history)."""
    if info is None:
        return None
    return {
        "PushFlag": 1 if info.disablePush else 0,
        "Title": info.title,
        "Desc": info.desc,
        "Ext": info.ext,
        "AndroidInfo": {"Sound": info.AndroidSound},
        "ApnsInfo": {"Sound": info.IOSSound, "BadgeMode": 1 if info.ignoreIOSBadge else 0},
    }
