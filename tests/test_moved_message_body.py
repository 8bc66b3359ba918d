"""A message the Tencent mirror moves out of the way is written around its new seq by a script
(gateway.engine.group_messages `_seq_template`): the body it writes is the body the message has
at that seq, whatever the message says (the probes are random: no text can defeat them), and a
message whose body depends on its seq elsewhere gets no template (it is moved in two steps)."""

from __future__ import annotations

import pytest

from gateway.engine import group_messages
from gateway.engine.codec import STORED_DEC, STORED_ENC
from gateway.engine.group_messages import _at_seq, _seq_template
from gateway.im.enums import ElemType
from gateway.im.messages import Content, StoredMessage, TextElem


def message(text: str, at: list[str] | None = None, ms: int = 0) -> StoredMessage:
    return StoredMessage(
        msgID="",
        sender="alice",
        receiver="",
        groupID="@TGS#_room",
        seq=4,
        random=1_234_567,
        timestamp=1_796_000_000,
        ms=ms,
        content=Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=text)),
        groupAtUserList=at or [],
    )


@pytest.mark.parametrize("text", ["plain", "1000000007 2000000011 3000000019", "4", "ünïcode ✓ 5"])
@pytest.mark.parametrize("seq", [5, 123_456, 10**12, 2**53])
def test_the_template_gives_the_body_at_any_seq(text: str, seq: int) -> None:
    original = message(text, at=["bob", "__kImSDK_MesssageAtALL__"])
    template = _seq_template(original)
    assert template is not None
    head, tail = template
    body = head + str(seq).encode() + tail
    assert body == STORED_ENC.encode(_at_seq(original, seq))
    decoded = STORED_DEC.decode(body)
    assert (decoded.seq, decoded.msgID, decoded.content, decoded.random) == (
        seq,
        _at_seq(original, seq).msgID,
        original.content,
        original.random,
    )


def test_a_text_quoting_the_probe_draws_another(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first probe drawn is in the text: the next one is used (and the body still checks)."""
    draws = iter([100_000_000_000_000_007, 100_000_000_000_000_009, 200_000_000_000_000_011, 200_000_000_000_000_017])
    monkeypatch.setattr(group_messages, "_probe_seq", lambda: next(draws))
    original = message("quoting 100000000000000007")
    template = _seq_template(original)
    assert template is not None
    assert template[0] + b"42" + template[1] == STORED_ENC.encode(_at_seq(original, 42))


def test_a_body_that_depends_on_its_seq_elsewhere_gets_no_template() -> None:
    """The codec's object form (a millisecond part out of 0..999) keeps the msgID, which follows
    the seq: no split of one body gives the others."""
    assert _seq_template(message("object form", ms=1_500)) is None
