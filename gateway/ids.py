"""Validation of the identifiers every API takes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gateway.errors import Code, IMError, invalid
from gateway.im.enums import ConversationType

TOPIC_MARK = "@TOPIC#_"
USER_ID_MAX_BYTES = 32  # Tencent's account limit (ERRORS.md 7003)
USER_ID_LIST_MAX = 100  # per call, as Tencent's portrait and state APIs allow


def check_user_id(user_id: str, arg: str = "userID") -> str:
    """A userID is 1..32 bytes of printable ASCII (0x20-0x7e), else 7003."""
    if not user_id:
        raise IMError(Code.ERR_INVALID_USERID, f"{arg} is empty")
    if len(user_id.encode("utf-8")) > USER_ID_MAX_BYTES:
        raise IMError(Code.ERR_INVALID_USERID, f"{arg} is over {USER_ID_MAX_BYTES} bytes")
    if not all(0x20 <= ord(ch) <= 0x7E for ch in user_id):
        raise IMError(Code.ERR_INVALID_USERID, f"{arg} must be printable ASCII")
    return user_id


def check_user_id_list(user_ids: Sequence[str], arg: str = "userIDList", *, allow_empty: bool = False) -> list[str]:
    """Validate every ID and drop repeats, keeping the caller's order."""
    if not user_ids and not allow_empty:
        raise invalid(f"{arg} is empty")
    if len(user_ids) > USER_ID_LIST_MAX:
        raise invalid(f"{arg} has {len(user_ids)} entries; at most {USER_ID_LIST_MAX} per call")
    seen: dict[str, None] = {}
    for i, uid in enumerate(user_ids):
        seen[check_user_id(uid, f"{arg}[{i}]")] = None
    return list(seen)


GROUP_ID_ARG_MAX_BYTES = 128  # a topic ID is a community ID (≤48 bytes) plus "@TOPIC#_" and a suffix


def check_group_id(group_id: str, arg: str = "groupID") -> str:
    """A group (or topic) ID argument: printable ASCII, non-empty, bounded; 10015 otherwise."""
    if not group_id or len(group_id.encode("utf-8")) > GROUP_ID_ARG_MAX_BYTES:
        raise IMError(Code.ERR_GROUP_ID_INVALID, f"{arg} must be 1-{GROUP_ID_ARG_MAX_BYTES} bytes")
    if not all(0x20 <= ord(ch) <= 0x7E for ch in group_id):
        raise IMError(Code.ERR_GROUP_ID_INVALID, f"{arg} must be printable ASCII")
    return group_id


def check_group_id_list(group_ids: Sequence[str], arg: str = "groupIDList") -> list[str]:
    if len(group_ids) > USER_ID_LIST_MAX:
        raise invalid(f"{arg} has {len(group_ids)} entries; at most {USER_ID_LIST_MAX} per call")
    return list(dict.fromkeys(check_group_id(g, f"{arg}[{i}]") for i, g in enumerate(group_ids)))


def parse_conversation_id(conversation_id: str) -> tuple[ConversationType, str]:
    """`c2c_<userID>` or `group_<groupID>`; 6004 for anything else."""
    try:
        if (peer := conversation_peer_id(conversation_id)) is not None:
            return ConversationType.V2TIM_C2C, check_user_id(peer, "conversationID")
        if (group := conversation_group_id(conversation_id)) is not None:
            return ConversationType.V2TIM_GROUP, check_group_id(group, "conversationID")
    except IMError as exc:
        raise IMError(Code.ERR_INVALID_CONVERSATION, f"conversationID {conversation_id!r} is malformed") from exc
    raise IMError(Code.ERR_INVALID_CONVERSATION, "conversationID must be c2c_<userID> or group_<groupID>")


# ---- conversation IDs: the one place that spells them -----------------------------------------
def c2c_conversation_id(user_id: str) -> str:
    """The C2C conversation with `user_id`: `c2c_<userID>`."""
    return f"c2c_{user_id}"


def group_conversation_id(group_id: str) -> str:
    """The conversation of group (or topic) `group_id`: `group_<groupID>`."""
    return f"group_{group_id}"


def conversation_group_id(conversation_id: str) -> str | None:
    """The group of a `group_<groupID>` conversation ID (unchecked); None for any other."""
    return conversation_id[6:] if conversation_id.startswith("group_") else None


def conversation_topic_id(conversation_id: str) -> str | None:
    """The topic of a community topic's conversation (`group_<topicID>`); None for any other."""
    group = conversation_group_id(conversation_id)
    return group if group is not None and topic_parent(group) is not None else None


def conversation_peer_id(conversation_id: str) -> str | None:
    """The peer of a `c2c_<userID>` conversation ID (unchecked); None for any other."""
    return conversation_id[4:] if conversation_id.startswith("c2c_") else None


def group_ids_of(conversation_ids: Iterable[str]) -> list[str]:
    """The groups of the group conversations among `conversation_ids`, in their order."""
    return [c[6:] for c in conversation_ids if c.startswith("group_")]


def peer_ids_of(conversation_ids: Iterable[str]) -> list[str]:
    """The peers of the C2C conversations among `conversation_ids`, in their order."""
    return [c[4:] for c in conversation_ids if c.startswith("c2c_")]


def topic_parent(topic_id: str) -> str | None:
    """The community a topic belongs to (topic IDs are `<groupID>@TOPIC#_<suffix>`)."""
    head, mark, _ = topic_id.partition(TOPIC_MARK)
    return head if mark and head else None
