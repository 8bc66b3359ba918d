"""Two kick tip moves of one group timeline (GroupMessaging._make_room) take turns.

The mirror moves a kick tip out of a seq Tencent gives a message in three steps: the tip copied to a
new seq, the kicked users' left marks moved to the copy, the tip at its old seq removed
(tests/tencent/test_kick_tip_crash.py). Here run A (the webhook of bob's message, given the tip's
seq) is held between its copy and its marks move, and run B (alice's own send through the gateway,
given the seq of A's copy) finds that copy in its way. Before the fix B moved the copy on without
the marks (not at it yet), then A moved carol's mark to the seq where B's message now is: carol's
conversation ended with a message sent after her removal, and her tip was out of her view. Now B
waits for A's turn, reads the seq again and moves the copy with her mark. A send that finds no kick
tip in its way takes no such turn.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import pytest

from gateway.engine.codec import STORED_DEC
from gateway.engine.group_messages import KICK_TIP_TURN_TTL_SECONDS, GroupMessaging
from gateway.engine.message_ids import parse_msg_id
from gateway.engine.upstream_turns import TURN_TTL_SECONDS, UpstreamTurns
from gateway.im.messages import StoredMessage
from tests.support.tencent_pair import Pair
from tests.tencent.test_groups_e2e import GROUP_HISTORY, sent, settled
from tests.tencent.test_kick_tip_crash import NEXT, _check_views
from tests.tencent.test_kick_tip_seq import (
    AFTER,
    INSERT_LOCAL,
    conversation_of,
    group_ahead_of_tencent,
    kick_carol,
    text_of,
)

KICK_TIP_TURN = "kick-tip:"  # the scope of a timeline's kick tip moves (gateway.engine.group_messages)
WAIT_SECONDS = 15.0


@dataclass
class _Gate:
    """The mirror's first kick tip marks move, held until `release` is set."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    held: list[int] = field(default_factory=list)  # the seq that held move takes the marks to


def _hold_first_marks_move(monkeypatch: pytest.MonkeyPatch) -> _Gate:
    move_marks = GroupMessaging._move_kick_marks
    gate = _Gate()

    async def gated(self: GroupMessaging, tip: StoredMessage, new_seq: int) -> None:
        # (the cloud has no upstream: only the mirror's gateway moves tips)
        if not gate.held:
            gate.held.append(new_seq)
            gate.reached.set()
            await gate.release.wait()
        await move_marks(self, tip, new_seq)

    monkeypatch.setattr(GroupMessaging, "_move_kick_marks", gated)
    return gate


@dataclass
class _Turns:
    """Every scope whose turn was asked for (the cloud's and the gateway's), as asked."""

    scopes: list[str] = field(default_factory=list)
    ttls: list[int] = field(default_factory=list)  # each turn's TTL, as asked
    asked: asyncio.Event = field(default_factory=asyncio.Event)

    def kick_tip(self) -> list[str]:
        return [s for s in self.scopes if s.startswith(KICK_TIP_TURN)]

    async def kick_tip_asked(self, times: int) -> None:
        while len(self.kick_tip()) < times:
            self.asked.clear()
            await self.asked.wait()


def _spy_turns(monkeypatch: pytest.MonkeyPatch) -> _Turns:
    turn = UpstreamTurns.turn
    turns = _Turns()

    def spying(
        self: UpstreamTurns, scope: str, *, always: bool = False, ttl: int = TURN_TTL_SECONDS
    ) -> AbstractAsyncContextManager[None]:
        turns.scopes.append(scope)
        turns.ttls.append(ttl)
        turns.asked.set()
        return turn(self, scope, always=always, ttl=ttl)

    monkeypatch.setattr(UpstreamTurns, "turn", spying)
    return turns


async def _timeline(pair: Pair, gid: str) -> dict[int, StoredMessage]:
    """The mirror's group timeline as stored: seq → message."""
    gateway = pair.gateway.gateway
    raw = await gateway.redis.hgetall(gateway.keys.timeline_messages(gateway.keys.group_timeline(gid)))
    return {int(seq): STORED_DEC.decode(value) for seq, value in raw.items()}


def _text(message: StoredMessage) -> str | None:
    elem = message.content.textElem
    return elem.text if elem is not None else None


async def test_a_send_finding_a_kick_tip_copy_mid_move_waits_for_that_move(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, carol, dave, gid = await group_ahead_of_tencent(pair, imports=1)
    live_tip = await kick_carol(alice, carol, gid)
    tip_random = parse_msg_id(live_tip["msgID"]).random
    await settled(pair)  # the kick's echo applied: the mirror is idle
    gate = _hold_first_marks_move(monkeypatch)
    turns = _spy_turns(monkeypatch)

    # run A: the webhook of bob's message, which Tencent gave the tip's seq; held once it has copied
    # the tip to a new seq, before it moves carol's mark there
    after = await sent(bob, gid, AFTER)
    assert after["seq"] == live_tip["seq"]
    await asyncio.wait_for(gate.reached.wait(), WAIT_SECONDS)
    (copy_seq,) = gate.held
    assert tip_random in [m.random for seq, m in (await _timeline(pair, gid)).items() if seq == copy_seq]

    # run B: alice's own send through the gateway, which Tencent gives the copy's seq; it finds the
    # copy in its way, and either moves it at once (before the fix) or waits for A's turn
    b = asyncio.create_task(sent(alice, gid, NEXT))
    b_waits = asyncio.create_task(turns.kick_tip_asked(2))  # A's turn, then B's
    done, _ = await asyncio.wait({b, b_waits}, timeout=WAIT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    b_waits.cancel()
    assert done, "run B neither finished nor waited for a turn"
    gate.release.set()
    following = await asyncio.wait_for(b, WAIT_SECONDS)
    assert following["seq"] == copy_seq, "Tencent gave the copy's seq to alice's message"
    await settled(pair)

    timeline = await _timeline(pair, gid)
    tips = [seq for seq, m in timeline.items() if m.random == tip_random]
    gateway = pair.gateway.gateway
    mark = await gateway.redis.hget(gateway.keys.conversation_state("carol", "left"), f"group_{gid}")
    # carol's mark at her tip, which is stored once, after both messages Tencent gave its seqs
    assert len(tips) == 1, timeline
    assert int(mark) == tips[0] > copy_seq, (mark, tips)
    assert (timeline[copy_seq].sender, _text(timeline[copy_seq])) == ("alice", NEXT)
    assert _text(timeline[after["seq"]]) == AFTER
    assert len(turns.kick_tip()) == 2, turns.scopes  # A's move and B's, one after the other
    # a kick tip's turn lapses soon if its holder dies (a few round trips: no upstream call in it)
    kick_tip_ttls = {
        ttl for scope, ttl in zip(turns.scopes, turns.ttls, strict=True) if scope.startswith(KICK_TIP_TURN)
    }
    assert kick_tip_ttls == {KICK_TIP_TURN_TTL_SECONDS}
    assert KICK_TIP_TURN_TTL_SECONDS < TURN_TTL_SECONDS

    await _check_views(carol, dave, gid, live_tip, after)  # carol ends with her tip, once
    view = await conversation_of(carol, gid)
    assert NEXT not in [text_of(m) for m in view["messages"]], view["messages"]
    history = (await dave.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    assert [text_of(m) for m in history if m["seq"] == copy_seq] == [NEXT], history


async def test_a_send_finding_no_kick_tip_takes_no_kick_tip_turn(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing at the seq Tencent gives alice's message, then a local import there (moved on in one
    transaction): neither send asks for a kick tip turn (nor does the echo of either)."""
    alice, *_, gid = await group_ahead_of_tencent(pair, imports=0)
    await settled(pair)
    turns = _spy_turns(monkeypatch)
    first = await sent(alice, gid, "nothing in the way")
    await alice.q(INSERT_LOCAL % gid)
    imported = max((await _timeline(pair, gid)).items())
    second = await sent(alice, gid, "a local import in the way")
    assert second["seq"] == imported[0] == first["seq"] + 1  # Tencent gave the import's seq: moved on
    await settled(pair)

    timeline = await _timeline(pair, gid)
    assert _text(timeline[second["seq"]]) == "a local import in the way"
    (moved,) = [seq for seq, m in timeline.items() if m.random == imported[1].random]
    assert moved > second["seq"], timeline
    assert any(s.startswith("send:") for s in turns.scopes), turns.scopes  # the spy saw the sends' turns
    assert turns.kick_tip() == [], turns.scopes


async def test_a_message_numbered_with_the_seq_a_copy_takes_is_never_overwritten(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run A (the webhook of bob's message, given the tip's seq) copies carol's tip to the seq it
    takes next; run B (alice's send, which Tencent gives that very seq) comes right after A took
    it. Taken and written in two steps (INCR, then the copy's write), B found the seq empty in
    between, stored alice's message there, and A's copy then overwrote it: a message its sender
    was told was sent, gone from the mirror. Taken and written in one script, B finds the copy and
    moves it on (with carol's mark) in its turn, and both stay."""
    alice, bob, carol, dave, gid = await group_ahead_of_tencent(pair, imports=1)
    live_tip = await kick_carol(alice, carol, gid)
    tip_random = parse_msg_id(live_tip["msgID"]).random
    await settled(pair)
    gateway = pair.gateway.gateway
    seq_key = gateway.keys.timeline_seq(gateway.keys.group_timeline(gid))
    taken, release, moved = asyncio.Event(), asyncio.Event(), asyncio.Event()
    incr = gateway.redis.incr

    async def held_incr(name: str, amount: int = 1) -> int:  # a seq taken apart from its write: held there
        value = int(await incr(name, amount))
        if name == seq_key and not taken.is_set():
            taken.set()
            await release.wait()
        return value

    move_marks = GroupMessaging._move_kick_marks

    async def marks_moved(self: GroupMessaging, tip: StoredMessage, new_seq: int) -> None:
        await move_marks(self, tip, new_seq)
        moved.set()

    monkeypatch.setattr(gateway.redis, "incr", held_incr)
    monkeypatch.setattr(GroupMessaging, "_move_kick_marks", marks_moved)

    after = await sent(bob, gid, AFTER)  # run A
    assert after["seq"] == live_tip["seq"]
    waits = [asyncio.create_task(e.wait()) for e in (taken, moved)]
    done, pending = await asyncio.wait(waits, timeout=WAIT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    assert done, "run A neither took a seq nor moved the tip"
    following = await asyncio.wait_for(sent(alice, gid, NEXT), WAIT_SECONDS)  # run B
    release.set()
    await settled(pair)

    timeline = await _timeline(pair, gid)
    assert (timeline[following["seq"]].sender, _text(timeline[following["seq"]])) == ("alice", NEXT), timeline
    assert _text(timeline[after["seq"]]) == AFTER
    tips = [seq for seq, m in timeline.items() if m.random == tip_random]
    mark = await gateway.redis.hget(gateway.keys.conversation_state("carol", "left"), f"group_{gid}")
    assert len(tips) == 1, timeline
    assert int(mark) == tips[0] > following["seq"], (mark, tips)
    await _check_views(carol, dave, gid, live_tip, after)


async def test_a_local_import_whatever_it_says_is_moved_out_of_a_numbered_messages_way(pair: Pair) -> None:
    """A local import's data quoting long digit runs (a body no fixed probe could lay out around
    its seq) still moves on when Tencent gives its seq to alice's message: both stay, and the send
    answers as sent."""
    alice, *_, gid = await group_ahead_of_tencent(pair, imports=0)
    await settled(pair)
    quoting = "1000000007 2000000011 3000000019 100000000000000007"
    await alice.q(INSERT_LOCAL.replace('data: "note"', f'data: "{quoting}"') % gid)
    imported = max((await _timeline(pair, gid)).items())
    following = await sent(alice, gid, "a message where the import was")
    assert following["seq"] == imported[0]
    await settled(pair)
    timeline = await _timeline(pair, gid)
    assert _text(timeline[following["seq"]]) == "a message where the import was"
    (moved,) = [seq for seq, m in timeline.items() if m.random == imported[1].random]
    assert moved > following["seq"]
    assert timeline[moved].content == imported[1].content
