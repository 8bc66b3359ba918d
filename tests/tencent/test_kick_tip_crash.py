"""A kick tip's move (GroupMessaging._make_room) cut midway is finished by the next run.

When Tencent gives the seq of a kick tip to a later message, the mirror moves the tip to a new seq
and the kicked member's left mark with it (tests/tencent/test_kick_tip_seq.py). The tip is in the
group's timeline, the mark on the member's side: on a Redis Cluster no one atomic step holds both.
Here the gateway "dies" midway through the move (the step raises once); the webhook's entry is
claimed again and the message applied once more. Before the fix the marks moved first and the tip
after: cut in between, carol's mark pointed past a tip still at its old seq and hidden from her,
and the next run moved the tip on without her mark (it was no longer at the tip's old seq), so
her conversation lost the tip for good. Now the tip is copied first and the old one removed last,
and the next run finds the copy and finishes: carol sees her tip once, right after what she saw
before the kick; a member sees it once too.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.engine.group_messages import GroupMessaging
from gateway.engine.message_ids import parse_msg_id
from gateway.im.messages import StoredMessage
from tests.support.groups import Member
from tests.support.tencent_pair import Pair, eventually
from tests.tencent.test_groups_e2e import GROUP_HISTORY, next_text, sent, settled
from tests.tencent.test_kick_tip_seq import (
    AFTER,
    BEFORE,
    KICKED,
    conversation_of,
    group_ahead_of_tencent,
    kick_carol,
    text_of,
)

QUICK_CLAIM_SECONDS = 0.2  # the failed webhook's entry is claimed again this soon
NEXT = "the next message, at the seq the tip was moving to"


class _Cut(Exception):
    """The gateway dying at this point of the move."""


def _cut_once(monkeypatch: pytest.MonkeyPatch, cut: str) -> list[int]:
    """The mirror's next kick tip move dies once, before or after it moves the kicked users' marks;
    the list gets the seq that move was taking the tip to."""
    move_marks = GroupMessaging._move_kick_marks
    cuts: list[int] = []

    async def dying_once(self: GroupMessaging, tip: StoredMessage, new_seq: int) -> None:
        # (the cloud has no upstream: only the mirror's gateway moves tips)
        if not cuts:
            cuts.append(new_seq)
            if cut == "after the marks move":
                await move_marks(self, tip, new_seq)
            raise _Cut
        await move_marks(self, tip, new_seq)

    monkeypatch.setattr(GroupMessaging, "_move_kick_marks", dying_once)
    return cuts


async def _check_views(carol: Member, dave: Member, gid: str, live_tip: dict[str, Any], after: dict[str, Any]) -> None:
    """carol (kicked) ends with her tip, once, right after what she saw before the kick; dave (a
    member) sees Tencent's message at Tencent's seq and the tip once, at carol's last seq."""
    tip_random = parse_msg_id(live_tip["msgID"]).random
    view = await conversation_of(carol, gid)
    last = view["lastMessage"]
    assert last["groupTipsElem"] == {"type": KICKED, "memberList": [{"userID": "carol"}]}, view
    assert last["random"] == tip_random, view
    assert last["seq"] > after["seq"], view
    (before_seq,) = [m["seq"] for m in view["messages"] if text_of(m) == BEFORE]
    later = [(m["seq"], m["random"]) for m in view["messages"] if m["seq"] > before_seq]
    assert later == [(last["seq"], tip_random)], view["messages"]
    assert view["unreadCount"] == 1, view  # BEFORE; the tip never counts, what came after is not hers

    history: list[dict[str, Any]] = (await dave.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    tips = [m["seq"] for m in history if parse_msg_id(m["msgID"]).random == tip_random]
    assert tips == [last["seq"]], history
    assert [text_of(m) for m in history if m["seq"] == after["seq"]] == [AFTER], history


@pytest.mark.parametrize("cut", ["before the marks move", "after the marks move"])
async def test_a_kick_tip_move_cut_midway_is_finished_by_the_next_run(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, cut: str
) -> None:
    alice, bob, carol, dave, gid = await group_ahead_of_tencent(pair, imports=1)
    inbound = pair.gateway.gateway.tencent_inbound
    assert inbound is not None
    monkeypatch.setattr(inbound, "claim_idle_seconds", QUICK_CLAIM_SECONDS)
    live_tip = await kick_carol(alice, carol, gid)
    cuts = _cut_once(monkeypatch, cut)
    after = await sent(bob, gid, AFTER)
    assert after["seq"] == live_tip["seq"]  # Tencent gave the tip's seq to a message sent after the kick
    await settled(pair)  # the webhook applied once more after its cut, and done
    assert cuts, "the move was never cut"
    await _check_views(carol, dave, gid, live_tip, after)


async def test_a_kick_tip_move_cut_midway_is_finished_after_tencent_gave_the_new_seq_to_another_message(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the cut message is applied again, Tencent gives the seq the tip was moving to to the
    next message: its own `_make_room` moves the tip's copy on, with the marks that followed it;
    the run after finds the copy there, and the kicked member still sees nothing but her tip."""
    alice, bob, carol, dave, gid = await group_ahead_of_tencent(pair, imports=1)
    inbound = pair.gateway.gateway.tencent_inbound
    assert inbound is not None
    live_tip = await kick_carol(alice, carol, gid)
    cuts = _cut_once(monkeypatch, "after the marks move")
    after = await sent(bob, gid, AFTER)

    async def was_cut() -> bool:
        return bool(cuts)

    await eventually(was_cut)
    following = await sent(bob, gid, NEXT)
    assert following["seq"] == cuts[0], "Tencent gave the copy's seq to the next message"
    while text_of(await next_text(dave)) != NEXT:  # applied by the mirror (AFTER waits for its claim)
        pass
    monkeypatch.setattr(inbound, "claim_idle_seconds", QUICK_CLAIM_SECONDS)
    await settled(pair)
    await _check_views(carol, dave, gid, live_tip, after)
    history = (await dave.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    assert [text_of(m) for m in history if m["seq"] == following["seq"]] == [NEXT], history
