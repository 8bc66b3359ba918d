"""Tencent's profile tags (`Tag_Profile_IM_*`, `Tag_Profile_Custom_<key>`) to and from imql profiles:
the wire vocabulary the REST server (gateway.engine.rest) and the Tencent backend (gateway.tencent)
both speak.

Most standard tags are V2TIMUserFullInfo fields (nick, face, signature, gender, allow type,
birthday, level, role) and custom tags are its customInfo. Four standard tags have no SDK field:
Location, Language, MsgSettings and AdminForbidType. The server API stores and reads them (as
Tencent's console and REST do), but the engine gives them no meaning: MsgSettings does not stop
deliveries and AdminForbidType does not stop friend requests.

Codes (Tencent's profile service): 40001 a malformed item or an unknown tag, 40601 a value over
its length, 40605 a value outside the tag's values, 40610 a value of the wrong type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.digits import is_digits
from gateway.errors import IMError
from gateway.im.enums import AllowType, Gender
from gateway.im.model import ProfileChanges, UserFullInfo
from gateway.v4.fields import Body

VALUE_TOO_LONG = 40601
VALUE_INVALID = 40605
VALUE_WRONG_TYPE = 40610
UINT32_MAX = 2**32 - 1
LOCATION_MAX_BYTES = 16  # Tencent: "the maximum length is 16 bytes"
CUSTOM_PREFIX = "Tag_Profile_Custom_"

GENDERS = {
    "Gender_Type_Unknown": Gender.V2TIM_GENDER_UNKNOWN,
    "Gender_Type_Male": Gender.V2TIM_GENDER_MALE,
    "Gender_Type_Female": Gender.V2TIM_GENDER_FEMALE,
}
ALLOW_TYPES = {
    "AllowType_Type_AllowAny": AllowType.V2TIM_FRIEND_ALLOW_ANY,
    "AllowType_Type_NeedConfirm": AllowType.V2TIM_FRIEND_NEED_CONFIRM,
    "AllowType_Type_DenyAny": AllowType.V2TIM_FRIEND_DENY_ANY,
}
ADMIN_FORBID_TYPES = ("AdminForbid_Type_None", "AdminForbid_Type_SendOut")

# tag → the UserFullInfo field it is
SDK_STRING_TAGS = {
    "Tag_Profile_IM_Nick": "nickName",
    "Tag_Profile_IM_Image": "faceUrl",
    "Tag_Profile_IM_SelfSignature": "selfSignature",
}
SDK_UINT_TAGS = {"Tag_Profile_IM_BirthDay": "birthday", "Tag_Profile_IM_Level": "level", "Tag_Profile_IM_Role": "role"}
# tag → the server-only field it is stored as (Profiles.server_fields), and its value when never set
SERVER_TAGS: dict[str, tuple[str, str | int]] = {
    "Tag_Profile_IM_Location": ("location", ""),
    "Tag_Profile_IM_Language": ("language", 0),
    "Tag_Profile_IM_MsgSettings": ("msgSettings", 0),
    "Tag_Profile_IM_AdminForbidType": ("adminForbidType", ADMIN_FORBID_TYPES[0]),
}
SERVER_UINT_TAGS = ("Tag_Profile_IM_Language", "Tag_Profile_IM_MsgSettings")
ENUM_TAGS = ("Tag_Profile_IM_Gender", "Tag_Profile_IM_AllowType")


def is_sdk_field(tag: str) -> bool:
    """A standard tag that is a V2TIMUserFullInfo field (not a server-only one, not custom)."""
    return tag in SDK_STRING_TAGS or tag in SDK_UINT_TAGS or tag in ENUM_TAGS


def is_known(tag: str) -> bool:
    return (
        tag in SDK_STRING_TAGS
        or tag in SDK_UINT_TAGS
        or tag in SERVER_TAGS
        or tag in ENUM_TAGS
        or (tag.startswith(CUSTOM_PREFIX) and len(tag) > len(CUSTOM_PREFIX))
    )


# ---- reading --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TagsToRead:
    server_fields: list[str]  # the server-only fields the tags need


def tags_to_read(tags: Sequence[str], body: Body) -> TagsToRead:
    """Check a TagList (40001 for a tag that is no profile tag)."""
    for tag in tags:
        if not is_known(tag):
            raise body.error(f"TagList: {tag!r} is not a profile tag")
    return TagsToRead(server_fields=[SERVER_TAGS[t][0] for t in tags if t in SERVER_TAGS])


def _name_of(enum_map: dict[str, Any], value: Any) -> str:
    return next(name for name, member in enum_map.items() if member == value)


def tag_value(tag: str, info: UserFullInfo, server: dict[str, str]) -> str | int:
    """One tag of a profile, as Tencent writes its value."""
    if tag in SDK_STRING_TAGS:
        return str(getattr(info, SDK_STRING_TAGS[tag]))
    if tag in SDK_UINT_TAGS:
        return int(getattr(info, SDK_UINT_TAGS[tag]))
    if tag == "Tag_Profile_IM_Gender":
        return _name_of(GENDERS, info.gender)
    if tag == "Tag_Profile_IM_AllowType":
        return _name_of(ALLOW_TYPES, info.allowType)
    if tag in SERVER_TAGS:
        name, default = SERVER_TAGS[tag]
        stored = server.get(name)
        if stored is None:
            return default
        return int(stored) if isinstance(default, int) else stored
    return info.customInfo.get(tag[len(CUSTOM_PREFIX) :], "")


def profile_items(tags: Sequence[str], info: UserFullInfo, server: dict[str, str]) -> list[dict[str, Any]]:
    return [{"Tag": tag, "Value": tag_value(tag, info, server)} for tag in tags]


# ---- writing --------------------------------------------------------------------------------------
@dataclass
class ProfileWrite:
    """A portrait_set's items: the SDK profile change, and the server-only fields to store."""

    changes: ProfileChanges = field(default_factory=ProfileChanges)
    server_fields: dict[str, str] = field(default_factory=dict)


def _string(tag: str, value: Any) -> str:
    if not isinstance(value, str):
        raise IMError(VALUE_WRONG_TYPE, f"{tag} takes a string")
    return value


def _uint(tag: str, value: Any) -> int:
    """A uint32 (a string of digits is accepted, as for every integer field of the server API)."""
    if isinstance(value, str) and is_digits(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise IMError(VALUE_WRONG_TYPE, f"{tag} takes an integer")
    if not 0 <= value <= UINT32_MAX:
        raise IMError(VALUE_INVALID, f"{tag} must be between 0 and {UINT32_MAX}")
    return value


def _choice(tag: str, value: Any, names: Sequence[str]) -> str:
    name = _string(tag, value)
    if name not in names:
        raise IMError(VALUE_INVALID, f"{tag} must be one of {', '.join(names)}")
    return name


def _apply(write: ProfileWrite, tag: str, value: Any) -> None:
    changes = write.changes
    if tag in SDK_STRING_TAGS:
        setattr(changes, SDK_STRING_TAGS[tag], _string(tag, value))
    elif tag in SDK_UINT_TAGS:
        setattr(changes, SDK_UINT_TAGS[tag], _uint(tag, value))
    elif tag == "Tag_Profile_IM_Gender":
        changes.gender = GENDERS[_choice(tag, value, list(GENDERS))]
    elif tag == "Tag_Profile_IM_AllowType":
        changes.allowType = ALLOW_TYPES[_choice(tag, value, list(ALLOW_TYPES))]
    elif tag == "Tag_Profile_IM_Location":
        location = _string(tag, value)
        if len(location.encode("utf-8")) > LOCATION_MAX_BYTES:
            raise IMError(VALUE_TOO_LONG, f"{tag} is over {LOCATION_MAX_BYTES} bytes")
        write.server_fields["location"] = location
    elif tag in SERVER_UINT_TAGS:
        write.server_fields[SERVER_TAGS[tag][0]] = str(_uint(tag, value))
    elif tag == "Tag_Profile_IM_AdminForbidType":
        write.server_fields["adminForbidType"] = _choice(tag, value, ADMIN_FORBID_TYPES)
    else:  # a custom tag (is_known checked it)
        changes.customInfo = {**(changes.customInfo or {}), tag[len(CUSTOM_PREFIX) :]: _string(tag, value)}


def read_profile_items(items: Sequence[Body]) -> ProfileWrite:
    """Every item read and checked (tag known, given once, value of the tag's type), nothing
    validated beyond the wire (the engine's limits are its own: gateway.engine.rest.profile_tags)."""
    write = ProfileWrite()
    seen: set[str] = set()
    for item in items:
        tag: str = item.string("Tag")
        if not is_known(tag):
            raise item.error(f"{tag!r} is not a profile tag")
        if tag in seen:
            raise item.error(f"{tag} is given twice")
        seen.add(tag)
        if "Value" not in item.raw or item.raw["Value"] is None:
            raise item.error(f"the value of {tag} is required")
        _apply(write, tag, item.raw["Value"])
    return write


def items_from_changes(changes: ProfileChanges) -> list[dict[str, Any]]:
    """A setSelfInfo change as portrait_set's ProfileItem list (only what it changes)."""
    items: list[dict[str, Any]] = []
    for tag, name in (*SDK_STRING_TAGS.items(), *SDK_UINT_TAGS.items()):
        value = getattr(changes, name)
        if value is not None:
            items.append({"Tag": tag, "Value": value})
    if changes.gender is not None:
        items.append({"Tag": "Tag_Profile_IM_Gender", "Value": _name_of(GENDERS, changes.gender)})
    if changes.allowType is not None:
        items.append({"Tag": "Tag_Profile_IM_AllowType", "Value": _name_of(ALLOW_TYPES, changes.allowType)})
    for key, value in (changes.customInfo or {}).items():
        items.append({"Tag": CUSTOM_PREFIX + key, "Value": value})
    return items


# the tags of a V2TIMUserFullInfo, but its custom fields (their tags are the app's: asked by name)
SDK_TAGS: tuple[str, ...] = (*SDK_STRING_TAGS, *SDK_UINT_TAGS, *ENUM_TAGS)


def profile_from_write(user_id: str, write: ProfileWrite) -> UserFullInfo:
    """The profile a portrait_get answer describes (fields it leaves out keep their defaults)."""
    info = UserFullInfo(userID=user_id)
    for name in info.__struct_fields__:
        value = getattr(write.changes, name, None)
        if value is not None and name != "userID":
            setattr(info, name, value)
    return info
