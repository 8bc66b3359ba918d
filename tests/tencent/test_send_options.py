"""The optional fields a gateway user's send carries to Tencent (FIXTURES.md B: sendmsg and
send_group_msg), built once for C2C and group sends."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.im.enums import ElemType
from gateway.im.messages import Content, OfflinePushInfo, StoredMessage, TextElem
from gateway.tencent.send_options import send_options

TEXT = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="hi"))


def _message(**fields: Any) -> StoredMessage:
    plain = StoredMessage(msgID="m", sender="alice", receiver="bob", seq=1, random=7, timestamp=1, content=TEXT)
    return msgspec.structs.replace(plain, **fields)


def test_a_plain_message_carries_no_options() -> None:
    assert send_options(_message(), online_only=False, receipt_field="IsNeedReadReceipt") == {}


def test_every_option_in_tencents_names_and_the_receipt_flag_as_the_endpoint_spells_it() -> None:
    message = _message(
        cloudCustomData="cc",
        isExcludedFromUnreadCount=True,
        isExcludedFromLastMessage=True,
        isSupportMessageExtension=True,
        needReadReceipt=True,
        offlinePushInfo=OfflinePushInfo(title="t", desc="d", ext="e", IOSSound="s.caf", ignoreIOSBadge=True),
    )
    assert send_options(message, online_only=False, receipt_field="IsNeedReadReceipt") == {
        "CloudCustomData": "cc",
        "SendMsgControl": ["NoUnread", "NoLastMsg"],
        "SupportMessageExtension": 1,
        "IsNeedReadReceipt": 1,
        "OfflinePushInfo": {
            "PushFlag": 0,
            "Title": "t",
            "Desc": "d",
            "Ext": "e",
            "AndroidInfo": {"Sound": ""},
            "ApnsInfo": {"Sound": "s.caf", "BadgeMode": 1},
        },
    }
    assert "NeedReadReceipt" in send_options(message, online_only=False, receipt_field="NeedReadReceipt")


def test_an_online_only_message_leaves_its_controls_out() -> None:
    message = _message(isExcludedFromUnreadCount=True, isExcludedFromLastMessage=True)
    assert send_options(message, online_only=True, receipt_field="IsNeedReadReceipt") == {}
