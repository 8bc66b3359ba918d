"""The codec of stored messages: one encoder and one decoder for a timeline's hash values.

Every part that writes a message into a timeline (or a record beside it: drafts, local data)
encodes with `STORED_ENC`; every part that reads a timeline decodes with `STORED_DEC`.

A timeline keeps every message for as long as the app keeps history, so a message's bytes there
are paid for over and over (docs/storage.md). A StoredMessage is written as a JSON array:

    [sender, receiver, groupID, seq, random, time, content, rest]

- `time`: timestamp × 1000 + ms (when it was sent, to the millisecond);
- `content`: `[elemType, element]`, the one element its elemType names (any other content as its
  usual JSON object);
- `rest`: the other fields, by their names, without the defaults; left out when all are defaults.
  The msgID is among them only when it is not the one its conversation, seq and random make
  (gateway.engine.message_ids), which is what a reader gives it otherwise.

Other records (drafts, local data) and messages written before this format (JSON objects) are
plain msgspec JSON, read as they always were. So is a merged message's bundle (its merged
messages, copied when it was made: gateway.engine.merger), through `BUNDLE_ENC` / `BUNDLE_DEC`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.engine.message_ids import c2c_msg_id, group_msg_id
from gateway.errors import Code, IMError
from gateway.im.enums import ElemType
from gateway.im.messages import Content, StoredMessage

# StoredMessage fields with a place of their own in the array; the others go to its `rest`
_PLACED = ("sender", "receiver", "groupID", "seq", "random", "timestamp", "ms", "content")
# the Content field holding each elemType's element
_ELEMENT_FIELD = {
    ElemType.V2TIM_ELEM_TYPE_TEXT: "textElem",
    ElemType.V2TIM_ELEM_TYPE_CUSTOM: "customElem",
    ElemType.V2TIM_ELEM_TYPE_IMAGE: "imageElem",
    ElemType.V2TIM_ELEM_TYPE_SOUND: "soundElem",
    ElemType.V2TIM_ELEM_TYPE_VIDEO: "videoElem",
    ElemType.V2TIM_ELEM_TYPE_FILE: "fileElem",
    ElemType.V2TIM_ELEM_TYPE_LOCATION: "locationElem",
    ElemType.V2TIM_ELEM_TYPE_FACE: "faceElem",
    ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS: "groupTipsElem",
    ElemType.V2TIM_ELEM_TYPE_MERGER: "mergerElem",
}
_ELEMENT_FIELDS = frozenset(_ELEMENT_FIELD.values())
_CONTENT_TYPES = {f.name: f.type for f in msgspec.structs.fields(Content)}
# by the elemType's number (an IntEnum made from an int costs more than the rest of a decode)
_ELEMENTS = {
    int(elem_type): (elem_type, field, msgspec.json.Decoder(_CONTENT_TYPES[field]))
    for elem_type, field in _ELEMENT_FIELD.items()
}


def _field_spec(field: msgspec.structs.FieldInfo) -> tuple[Any, ...]:
    if field.default is not msgspec.NODEFAULT:
        return (field.name, field.type, field.default)
    if field.default_factory is not msgspec.NODEFAULT:
        return (field.name, field.type, msgspec.field(default_factory=field.default_factory))
    return (field.name, field.type, "")  # the msgID: "" when a reader makes it


# Every StoredMessage field without a place of its own, made from StoredMessage itself: a field
# added to it later is stored (by its name) with no change here.
_Rest: Any = msgspec.defstruct(
    "_Rest",
    [_field_spec(f) for f in msgspec.structs.fields(StoredMessage) if f.name not in _PLACED],
    kw_only=True,
    omit_defaults=True,
)
_REST_DEFAULTS = {name: getattr(_Rest(), name) for name in _Rest.__struct_fields__}


# A StoredMessage as stored: [sender, receiver, groupID, seq, random, time, content, rest]; the
# content is `[elemType, element]` (the element still encoded, for the decoder of its type) or
# the content whole
_Stored: Any = msgspec.defstruct(
    "_Stored",
    [
        ("sender", str),
        ("receiver", str),
        ("groupID", str),
        ("seq", int),
        ("random", int),
        ("time", int),
        ("content", tuple[int, msgspec.Raw] | Content),
        ("rest", _Rest | None, None),
    ],
    array_like=True,
)


def derived_msg_id(message: StoredMessage) -> str:
    """The msgID a message's conversation, seq and random make (gateway.engine.message_ids)."""
    if message.groupID:
        return group_msg_id(message.groupID, message.seq, message.random)
    return c2c_msg_id(message.sender, message.receiver, message.seq, message.random)


def _content_part(content: Content) -> Any:
    """`[elemType, element]` when the content is its one element; else the content itself."""
    field = _ELEMENT_FIELD.get(content.elemType)
    element = getattr(content, field) if field is not None else None
    if element is None or any(getattr(content, f) is not None for f in _ELEMENT_FIELDS if f != field):
        return content
    return [int(content.elemType), element]


class _StoredEncoder:
    """msgspec's JSON encoder; a StoredMessage in the array form above."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()

    def encode(self, obj: Any) -> bytes:
        if not isinstance(obj, StoredMessage) or not 0 <= obj.ms < 1000:
            return self._encoder.encode(obj)
        parts: list[Any] = [
            obj.sender,
            obj.receiver,
            obj.groupID,
            obj.seq,
            obj.random,
            obj.timestamp * 1000 + obj.ms,
            _content_part(obj.content),
        ]
        rest = {name: value for name, default in _REST_DEFAULTS.items() if (value := getattr(obj, name)) != default}
        if rest.get("msgID") == derived_msg_id(obj):
            del rest["msgID"]
        if rest:
            parts.append(_Rest(**rest))
        return self._encoder.encode(parts)


class _StoredDecoder:
    """Reads a timeline's message, in either form."""

    def __init__(self) -> None:
        self._array = msgspec.json.Decoder(_Stored)
        self._object = msgspec.json.Decoder(StoredMessage)

    def decode(self, raw: str | bytes) -> StoredMessage:
        if raw[:1] not in ("[", b"["):
            return self._object.decode(raw)  # written before the array form
        wire = self._array.decode(raw)
        part = wire.content
        if isinstance(part, Content):
            content = part
        else:
            elem_type, field, decoder = _ELEMENTS[part[0]]
            content = Content(elemType=elem_type, **{field: decoder.decode(part[1])})
        seconds, ms = divmod(wire.time, 1000)
        rest: dict[str, Any] = msgspec.structs.asdict(wire.rest) if wire.rest is not None else {}
        message = StoredMessage(
            msgID=rest.pop("msgID", ""),
            sender=wire.sender,
            receiver=wire.receiver,
            groupID=wire.groupID,
            seq=wire.seq,
            random=wire.random,
            timestamp=seconds,
            ms=ms,
            content=content,
            **rest,
        )
        if not message.msgID:
            message.msgID = derived_msg_id(message)
        return message


STORED_ENC = _StoredEncoder()
STORED_DEC = _StoredDecoder()
# a merged message's bundle: its messages as a JSON list of objects (the form bundles were written in)
BUNDLE_ENC = msgspec.json.Encoder()
BUNDLE_DEC = msgspec.json.Decoder(list[StoredMessage])


MESSAGE_BODY_MAX_BYTES = 12 * 1024  # Tencent's limit for one message (8001 beyond)


def require_body_fits(content: Content, cloud_custom_data: str) -> None:
    """The SDK's limit on a message body (its elements plus cloudCustomData): 8001 past it. Any
    content a message gets (sent, modified, rewritten by the app's callback) is held to it."""
    if len(STORED_ENC.encode(content)) + len(cloud_custom_data.encode("utf-8")) > MESSAGE_BODY_MAX_BYTES:
        raise IMError(Code.ERR_MSG_BODY_TOO_LARGE, f"message body over {MESSAGE_BODY_MAX_BYTES} bytes")
