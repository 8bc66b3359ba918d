"""Tencent's wire format on its own (gateway/v4): field readers, MsgBody <-> content for every
element kind, offline push options and MsgKey, with no server in between."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import IMError
from gateway.im.enums import ElemType, ImageType
from gateway.im.messages import Content, MergerElem
from gateway.v4 import envelope
from gateway.v4.fields import Body
from gateway.v4.identity import MsgKey, parse_msg_key
from gateway.v4.msgbody import (
    content_from_msgbody,
    msgbody_from_content,
    offline_push_from_rest,
    offline_push_to_rest,
)

# one element of each kind, as Tencent documents them (BACKGROUND.md 1.4, FIXTURES.md B1/B3)
ELEMENTS: list[dict[str, Any]] = [
    {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}},
    {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "LV1", "Desc": "level", "Ext": "x", "Sound": ""}},
    {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 6, "Data": "abc\u0000\u0001"}},
    {"MsgType": "TIMLocationElem", "MsgContent": {"Desc": "office", "Latitude": 22.5, "Longitude": 113.9}},
    {
        "MsgType": "TIMImageElem",
        "MsgContent": {
            "UUID": "img-1",
            "ImageFormat": 3,
            "ImageInfoArray": [
                {"Type": 1, "Size": 1000, "Width": 640, "Height": 480, "URL": "https://cdn.example/a.png"},
                {"Type": 2, "Size": 500, "Width": 320, "Height": 240, "URL": "https://cdn.example/a_l.png"},
                {"Type": 3, "Size": 100, "Width": 198, "Height": 148, "URL": "https://cdn.example/a_t.png"},
            ],
        },
    },
    {
        "MsgType": "TIMSoundElem",
        "MsgContent": {"Url": "https://cdn.example/s.m4a", "UUID": "s1", "Size": 3000, "Second": 4, "Download_Flag": 2},
    },
    {
        "MsgType": "TIMFileElem",
        "MsgContent": {
            "Url": "https://cdn.example/f.pdf",
            "UUID": "f1",
            "FileSize": 9000,
            "FileName": "f.pdf",
            "Download_Flag": 2,
        },
    },
    {
        "MsgType": "TIMVideoFileElem",
        "MsgContent": {
            "VideoUrl": "https://cdn.example/v.mp4",
            "VideoUUID": "v1",
            "VideoSize": 100000,
            "VideoSecond": 12,
            "VideoFormat": "mp4",
            "VideoDownloadFlag": 2,
            "ThumbUrl": "https://cdn.example/v.jpg",
            "ThumbUUID": "t1",
            "ThumbSize": 2000,
            "ThumbWidth": 320,
            "ThumbHeight": 180,
            "ThumbFormat": 1,
            "ThumbDownloadFlag": 2,
        },
    },
]


@pytest.mark.parametrize("elem", ELEMENTS, ids=[e["MsgType"] for e in ELEMENTS])
def test_every_element_kind_comes_back_as_it_went_in(elem: dict[str, Any]) -> None:
    content = content_from_msgbody([elem])
    assert msgbody_from_content(content) == [elem]


def test_elements_land_in_the_sdk_fields() -> None:
    image = content_from_msgbody([ELEMENTS[4]])
    assert image.elemType == ElemType.V2TIM_ELEM_TYPE_IMAGE
    assert image.imageElem is not None
    assert [i.type for i in image.imageElem.imageList] == [
        ImageType.V2TIM_IMAGE_TYPE_ORIGIN,
        ImageType.V2TIM_IMAGE_TYPE_LARGE,
        ImageType.V2TIM_IMAGE_TYPE_THUMB,
    ]
    custom = content_from_msgbody([ELEMENTS[1]])
    assert custom.customElem is not None
    assert (custom.customElem.data, custom.customElem.desc, custom.customElem.extension) == ("LV1", "level", "x")


def test_media_urls_go_out_through_the_callers_signer() -> None:
    content = content_from_msgbody([ELEMENTS[6]])
    [elem] = msgbody_from_content(content, lambda ref: f"signed:{ref}")
    assert elem["MsgContent"]["Url"] == "signed:https://cdn.example/f.pdf"


def test_a_merged_message_goes_out_as_a_relay_element() -> None:
    merged = Content(
        elemType=ElemType.V2TIM_ELEM_TYPE_MERGER,
        mergerElem=MergerElem(title="Chat", abstractList=["a: hi"], compatibleText="upgrade", msgIDList=["m1", "m2"]),
    )
    assert msgbody_from_content(merged) == [
        {
            "MsgType": "TIMRelayElem",
            "MsgContent": {"Title": "Chat", "MsgNum": 2, "CompatibleText": "upgrade", "AbstractList": ["a: hi"]},
        }
    ]


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        [1],
        [{"MsgType": "TIMTextElem"}],
        [{"MsgType": "TIMTextElem", "MsgContent": {"Text": 5}}],
        [{"MsgType": "TIMNoSuchElem", "MsgContent": {}}],
        [{"MsgType": "TIMImageElem", "MsgContent": {"ImageInfoArray": [{"Type": 9, "URL": "u"}]}}],
        [{"MsgType": "TIMLocationElem", "MsgContent": {"Latitude": "north"}}],
        # one element per imql message: a second one is refused, not dropped
        [ELEMENTS[0], ELEMENTS[2]],
    ],
)
def test_malformed_bodies_are_refused_with_the_callers_code(body: Any) -> None:
    with pytest.raises(IMError) as refused:
        content_from_msgbody(body, 10004)
    assert refused.value.code == 10004
    assert "MsgBody" in refused.value.desc or "must" in refused.value.desc


def test_offline_push_options_both_ways() -> None:
    info = offline_push_from_rest(
        {
            "PushFlag": 1,
            "Title": "t",
            "Desc": "d",
            "Ext": "e",
            "AndroidInfo": {"Sound": "android.mp3"},
            "ApnsInfo": {"Sound": "apns.mp3", "BadgeMode": 1},
        }
    )
    assert info is not None
    assert (info.disablePush, info.title, info.desc, info.ext) == (True, "t", "d", "e")
    assert (info.AndroidSound, info.IOSSound, info.ignoreIOSBadge) == ("android.mp3", "apns.mp3", True)
    assert offline_push_to_rest(info) == {
        "PushFlag": 1,
        "Title": "t",
        "Desc": "d",
        "Ext": "e",
        "AndroidInfo": {"Sound": "android.mp3"},
        "ApnsInfo": {"Sound": "apns.mp3", "BadgeMode": 1},
    }
    assert offline_push_from_rest(None) is None
    with pytest.raises(IMError):
        offline_push_from_rest("push")


def test_body_readers_name_the_field_and_use_the_services_code() -> None:
    body = Body(
        {
            "GroupId": "g",
            "Count": "12",
            "Flag": 1,
            "Members": ["a", "b"],
            "Items": [{"Name": "x"}, {"Name": 3}],
            "Type": "Public",
        },
        10004,
    )
    assert body.string("GroupId") == "g"
    assert body.integer("Count", lo=0, hi=20) == 12  # digits in a string are accepted, as Tencent does
    assert body.flag("Flag") is True
    assert body.strings("Members", max_items=2) == ["a", "b"]
    assert body.string("Missing", None) is None
    assert body.choice("Type", {"Public": 2, "Private": 1}) == 2
    for read in (
        lambda: body.string("Missing"),
        lambda: body.integer("GroupId"),
        lambda: body.integer("Count", hi=10),
        lambda: body.strings("Members", max_items=1),
        lambda: body.objects("Items", max_items=5)[1].string("Name"),
        lambda: body.choice("Type", {"Private": 1}),
        lambda: body.flag("Count"),
    ):
        with pytest.raises(IMError) as refused:
            read()
        assert refused.value.code == 10004
    with pytest.raises(IMError) as nested:
        body.objects("Items", max_items=5)[1].string("Name")
    assert "Items[1].Name" in nested.value.desc


def test_msg_keys_parse_back() -> None:
    key = MsgKey(seq=48374, random=2837546, time=1557481126)
    assert str(key) == "48374_2837546_1557481126"
    assert parse_msg_key(str(key)) == key
    for bad in ("", "1_2", "a_b_c", "0_1_2", "1_2_3_4", "-1_2_3"):
        assert parse_msg_key(bad) is None


def test_envelopes_as_tencent_orders_them() -> None:
    assert list(envelope.ok({"MsgKey": "k"})) == ["ActionStatus", "ErrorInfo", "ErrorCode", "MsgKey"]
    assert envelope.ok({"ActionStatus": "SomeError"}, status=envelope.SOME_ERROR)["ActionStatus"] == "SomeError"
    assert envelope.fail(90001, "bad") == {"ActionStatus": "FAIL", "ErrorInfo": "bad", "ErrorCode": 90001}
