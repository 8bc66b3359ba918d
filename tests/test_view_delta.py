"""gateway.engine.message_events._delta: a view as changes to its base view, the same as the
field-by-field comparison it replaced, for a change in any one field of a message."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.engine.message_events import _DELTA_FIELDS, ViewDelta, _delta
from gateway.im.enums import ElemType, MsgStatus
from gateway.im.messages import Message, TextElem

BASE = Message(
    msgID="m1",
    sender="alice",
    status=MsgStatus.V2TIM_MSG_STATUS_SEND_SUCC,
    isSelf=False,
    isRead=False,
    elemType=ElemType.V2TIM_ELEM_TYPE_TEXT,
    textElem=TextElem(text="hi"),
    groupAtUserList=["x"],
)


def field_by_field(view: Message, base: Message) -> ViewDelta | None:
    """The comparison _delta made before (getattr per field)."""
    changes: dict[str, Any] = {}
    for name in Message.__struct_fields__:
        value = getattr(view, name)
        if value != getattr(base, name):
            if name not in _DELTA_FIELDS:
                return None
            changes[name] = value
    return ViewDelta(**changes)


def changed(name: str) -> Any:
    value = getattr(BASE, name)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int) and not isinstance(value, MsgStatus):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, list):
        return [*value, "y"]
    if isinstance(value, MsgStatus):
        return MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED
    if name == "textElem":
        return TextElem(text="other")
    return None if value is not None else TextElem(text="other")


def test_a_change_in_any_field_gives_the_same_delta() -> None:
    assert _delta(BASE, BASE) == field_by_field(BASE, BASE) == ViewDelta()
    seen_none = seen_delta = 0
    for name in Message.__struct_fields__:
        view = msgspec.structs.replace(BASE, **{name: changed(name)})
        ours, theirs = _delta(view, BASE), field_by_field(view, BASE)
        assert ours == theirs, name
        seen_none += ours is None
        seen_delta += ours is not None and ours != ViewDelta()
    assert (seen_none > 0, seen_delta > 0) == (True, True)  # both kinds of answer were compared


def test_several_changes_give_the_same_delta() -> None:
    view = msgspec.structs.replace(BASE, isSelf=True, isRead=True, userID="bob", localCustomInt=3)
    assert (
        _delta(view, BASE)
        == field_by_field(view, BASE)
        == ViewDelta(isSelf=True, isRead=True, userID="bob", localCustomInt=3)
    )
    view = msgspec.structs.replace(view, seq=9)
    assert _delta(view, BASE) is None
