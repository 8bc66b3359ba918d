"""A community topic's deletion against what races it: a second deletion, the erasers, a send, a
topic made again under its ID (gateway.engine.groups.topic_erasure).

- A topic deleted again while its first deletion's history is still being erased (10010) leaves
  that erasure queued, and so does a deletion whose commit finds the topic gone after all.
- A topic's ID is refused (10021) while its deleted topic's erasure is under way: that erasure's
  forgetting would take a new topic's users' state.
- A send that took its seq before the topic's deletion committed is within the erasure's bound (read
  after the commit); one that writes after it takes itself back (10010): nothing of either is left
  once the erasers are done, nor in a topic made again under the ID.
- A topic made again under a deleted one's ID goes on after the old seqs (the counter stays), and
  the community's dismissal deletes the counter and the deleted-topics hash at last.
- The members' and former members' side of a deleted topic (receive option, pin, draft) is
  forgotten: a topic made again under the ID takes none of it, whether the deletion's own part did
  it or, the deletion cut or its community large, the erasers (within their budget, step by step)
  or the community's dismissal.
- onTopicDeleted goes out for the topics deleted before one that fails.

The erasers are driven by hand (`GroupEraser.step`), the gateway's own loop stopped, on the gateway's
manual clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.exceptions import RedisError

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups import erasure_queue, extras, topic_erasure
from gateway.engine.groups.eraser import DISMISSAL_HOLD_SECONDS, ERASE_WORK_PER_SECOND
from gateway.engine.groups.erasure_queue import Hold
from gateway.engine.groups.topic_erasure import ERASED_TOPIC_FIELD, ERASING_TOPIC_FIELD, TOPIC_ENTRY
from gateway.errors import Code, IMError
from gateway.ids import topic_parent
from gateway.im.enums import GroupType, MessageOpt
from gateway.im.events import OnTopicDeleted
from gateway.im.groups import TopicInfo
from gateway.im.messages import SendOptions
from gateway.services import Gateway
from tests.support.engine import HeldSends, embedded
from tests.test_dismissal_cleanup import (
    SESSION,
    app_keys,
    keys_of,
    manual_clock,
    queued,
    send,
    stored_count,
    text,
    write_history,
)

COMMUNITY = GroupType.V2TIM_GROUP_TYPE_COMMUNITY
LONG = 2_500  # a topic's messages: more than its deletion erases itself (TOPIC_DELETION_ERASE_BUDGET)


@pytest.fixture
async def gw(settings: Settings) -> AsyncIterator[Gateway]:
    """A gateway whose eraser loop is stopped: the tests step the eraser themselves."""
    gateway = Gateway.build(settings, clock=ManualClock())
    await gateway.start()
    try:
        await gateway.group_eraser.stop()
        for user in ("alice", "bob", "carol", "dave"):
            await gateway.backend.accounts.ensure_account(user)
        yield gateway
    finally:
        await gateway.close()


async def erase_all(gw: Gateway) -> None:
    """The gateway's eraser stepped until nothing is due."""
    eraser = embedded(gw.backend).groups.eraser
    async with asyncio.timeout(10):
        while await eraser.step(ERASE_WORK_PER_SECOND):
            pass


async def community_with_topic(gw: Gateway, history: int = 0, members: tuple[str, ...] = ()) -> tuple[str, str]:
    """A community of alice's (`members` joined) with a topic holding `history` messages."""
    groups = embedded(gw.backend).groups
    community = await groups.create_group("alice", COMMUNITY, None, "topics", is_support_topic=True)
    for user in members:
        await groups.join_group(user, community, "")
    topic = await groups.create_topic_in_community("alice", community, TopicInfo(topicID="", topicName="news"))
    if history:
        await write_history(gw, topic, history)
    return community, topic


async def remake(engine: EmbeddedBackend, community: str, topic: str) -> None:
    made = await engine.groups.create_topic_in_community(
        "alice", community, TopicInfo(topicID=topic, topicName="again")
    )
    assert made == topic


async def marks(gw: Gateway, community: str) -> list[str]:
    fields = await gw.redis.hkeys(keys_of(gw).group_deleted_topics(community))
    return [f for f in fields if f.startswith(ERASING_TOPIC_FIELD)]


# ---- the erasure's entry ------------------------------------------------------------------------
async def test_a_topic_deleted_again_leaves_its_first_deletions_erasure_queued(gw: Gateway) -> None:
    """The second deletion finds no topic (10010): it once took the first one's entry over with its
    hold and removed it, leaving the rest of the history and the mark for good."""
    groups = embedded(gw.backend).groups
    community, topic = await community_with_topic(gw, LONG)
    (first,) = await groups.delete_topic_from_community("alice", community, [topic])
    assert first.errorCode == 0
    assert await queued(gw, TOPIC_ENTRY + topic), "more than the deletion erases itself"

    (again,) = await groups.delete_topic_from_community("alice", community, [topic])

    assert again.errorCode == Code.ERR_GROUP_NOT_FOUND
    await erase_all(gw)
    assert await stored_count(gw, topic) == 0
    assert await marks(gw, community) == []
    assert not await queued(gw, TOPIC_ENTRY + topic)


async def test_a_deletion_whose_commit_finds_the_topic_gone_hands_the_entry_back(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deletions of one topic at once (two replicas): between the second's hold (which takes
    the first's entry over) and its commit, the first commits, erases a part and lets go. The failed
    commit must hand the entry back, not remove it: the first's erasure is still to finish."""
    groups = embedded(gw.backend).groups
    community, topic = await community_with_topic(gw, LONG)
    hold = groups.eraser.hold

    async def first_deletion_meanwhile(group_id: str) -> Hold:
        held = await hold(group_id)
        monkeypatch.undo()
        assert await topic_erasure.delete_topic(groups.eraser, community, topic)
        return held

    monkeypatch.setattr(groups.eraser, "hold", first_deletion_meanwhile)
    assert not await topic_erasure.delete_topic(groups.eraser, community, topic)

    assert await queued(gw, TOPIC_ENTRY + topic)
    await erase_all(gw)
    assert await stored_count(gw, topic) == 0
    assert await marks(gw, community) == []


async def test_a_topic_id_is_refused_while_its_erasure_is_under_way(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion's own erasure failing right after its commit (the deletion answers success, the
    erasers finish it); a topic made again under the ID then would have the old erasure forget its
    users' state (bob's receive option, his read seq) once the erasers run: refused (10021) until
    they are done, then free, and the new topic's state kept."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    community, topic = await community_with_topic(gw, history=10, members=("bob",))

    async def dying(*args: Any) -> tuple[bool, int]:
        raise _Cut

    monkeypatch.setattr(groups.eraser, "erase", dying)
    (deleted,) = await groups.delete_topic_from_community("alice", community, [topic])
    monkeypatch.undo()
    assert deleted.errorCode == 0, "committed: the deletion took effect"
    assert await marks(gw, community) == [ERASING_TOPIC_FIELD + topic]
    await gw.redis.zrem(keys.groups_to_erase(), TOPIC_ENTRY + topic)  # lost, as by a stalled deletion

    with pytest.raises(IMError) as refused:
        await remake(engine, community, topic)
    assert refused.value.code == Code.ERR_GROUP_ID_TAKEN
    assert await queued(gw, TOPIC_ENTRY + topic), "the refusal queues the erasure again"
    await manual_clock(gw).advance(DISMISSAL_HOLD_SECONDS)
    await erase_all(gw)
    assert await stored_count(gw, topic) == 0

    await remake(engine, community, topic)
    await send(engine, "bob", topic, "new")
    await engine.messages.set_group_receive_message_opt("bob", topic, MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE)
    await erase_all(gw)
    conversation = f"group_{topic}"
    assert await gw.redis.hget(keys.receive_options("bob"), keys.receive_option_field(conversation)) is not None
    assert await gw.redis.hget(keys.group_read_seqs("bob"), conversation) == str(10 + 1)
    assert await stored_count(gw, topic) == 1


# ---- a send racing the deletion -------------------------------------------------------------------
async def test_a_send_written_after_its_topics_deletion_takes_itself_back(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window held open: the send has looked the topic up and taken its seq, and writes only
    once the topic is deleted (its short history erased by the deletion itself, the entry gone).
    It must read the topic gone, take back what it wrote and answer 10010; a topic made again
    under the ID shows nothing of it."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, messages = engine.groups, engine.messages
    community, topic = await community_with_topic(gw, members=("bob",))
    await send(engine, "bob", topic, "before")
    held = HeldSends(monkeypatch, messages)
    claimed, go_on = held.claimed, held.go_on
    created = await messages.create_message("bob", text("late"))
    sending = asyncio.create_task(
        messages.send_group_message("bob", SESSION, created.id, topic, SendOptions(localCustomData="mine"))
    )
    await claimed.wait()
    (deleted,) = await groups.delete_topic_from_community("alice", community, [topic])
    assert deleted.errorCode == 0
    go_on.set()
    with pytest.raises(IMError) as refused:
        await sending
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND
    monkeypatch.undo()

    await erase_all(gw)
    assert await stored_count(gw, topic) == 0
    assert await gw.redis.hgetall(keys.local_message_data("bob")) == {}
    await remake(engine, community, topic)
    assert await messages.get_group_history_message_list("alice", topic, 10) == []


async def test_a_send_written_between_the_deletions_first_read_and_its_commit_is_erased(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send that takes its seq and writes (reading the topic there) after the deletion found the
    topic and before it commits: the erasure's bound is read after the commit, so it takes the send's
    message too, and a topic made again under the ID shows none of it."""
    engine = embedded(gw.backend)
    groups = engine.groups
    community, topic = await community_with_topic(gw, LONG, members=("bob",))
    hold = groups.eraser.hold

    async def send_meanwhile(group_id: str) -> Hold:
        held = await hold(group_id)
        await send(engine, "bob", topic, "slipped in")
        return held

    monkeypatch.setattr(groups.eraser, "hold", send_meanwhile)
    (deleted,) = await groups.delete_topic_from_community("alice", community, [topic])
    monkeypatch.undo()
    assert deleted.errorCode == 0

    await erase_all(gw)
    assert await stored_count(gw, topic) == 0
    assert await marks(gw, community) == []
    await remake(engine, community, topic)
    assert await engine.messages.get_group_history_message_list("alice", topic, 10) == []


async def test_a_deletion_cut_before_it_read_its_bound_has_the_eraser_read_it(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut between its commit (the mark pending) and its bound (the request's deadline): the topic is
    gone, so it is told; the entry is handed back due now, and the eraser reads the counter itself."""
    engine = embedded(gw.backend)
    groups = engine.groups
    community, topic = await community_with_topic(gw, LONG)

    told: list[Any] = []
    emit = groups.store.emit

    async def telling(group: Any, event: Any, **kwargs: Any) -> None:
        told.append(event)
        await emit(group, event, **kwargs)

    async def dying(*args: Any) -> str | None:
        raise asyncio.CancelledError  # the request's deadline

    monkeypatch.setattr(groups.store, "emit", telling)
    monkeypatch.setattr(topic_erasure, "_bound", dying)
    with pytest.raises(asyncio.CancelledError):
        await groups.delete_topic_from_community("alice", community, [topic])
    monkeypatch.undo()
    assert [e.topicIDList for e in told if isinstance(e, OnTopicDeleted)] == [[topic]], "told: it is gone"
    deleted = keys_of(gw).group_deleted_topics(community)
    assert await gw.redis.hget(deleted, ERASING_TOPIC_FIELD + topic) == topic_erasure.PENDING

    await erase_all(gw)  # handed back due now: no waiting for the hold to run out
    assert await stored_count(gw, topic) == 0
    assert await marks(gw, community) == []


@pytest.mark.parametrize("failing", ["its bound", "its own erasure"])
async def test_a_deletion_whose_after_commit_step_fails_answers_success_and_is_told(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The commit is in, then the deletion's own part fails (Redis, the deadline): the topic is
    gone, so the deletion answers success for it and onTopicDeleted goes out; its entry is handed to
    the erasers due now (this replica's woken), which finish it."""
    engine = embedded(gw.backend)
    groups = engine.groups
    community, topic = await community_with_topic(gw, 10)
    told: list[Any] = []
    emit = groups.store.emit

    async def telling(group: Any, event: Any, **kwargs: Any) -> None:
        told.append(event)
        await emit(group, event, **kwargs)

    async def failing_step(*args: Any) -> Any:
        raise RedisError("down")

    monkeypatch.setattr(groups.store, "emit", telling)
    if failing == "its bound":
        monkeypatch.setattr(topic_erasure, "_bound", failing_step)
    else:
        monkeypatch.setattr(groups.eraser, "erase", failing_step)
    groups.eraser.woken.clear()

    (result,) = await groups.delete_topic_from_community("alice", community, [topic])
    monkeypatch.undo()

    assert result.errorCode == 0
    assert [e.topicIDList for e in told if isinstance(e, OnTopicDeleted)] == [[topic]]
    assert groups.eraser.woken.is_set()
    due = await gw.redis.zscore(keys_of(gw).groups_to_erase(), TOPIC_ENTRY + topic)
    assert due is not None
    assert due <= gw.clock.now(), "handed back due now"
    await erase_all(gw)
    assert await stored_count(gw, topic) == 0
    assert await marks(gw, community) == []


# ---- the timeline's seq counter -------------------------------------------------------------------
async def test_a_topic_made_again_goes_on_after_the_deleted_ones_seqs_and_takes_its_record(
    gw: Gateway,
) -> None:
    """The deleted topic's erasure leaves no key of its timeline, its seq counter included: the
    counter's last value is recorded in the community's deleted-topics hash. A topic made again
    under the ID goes on after the old seqs (members' read marks may name them), raised to the
    record first, and removes the record; the community's dismissal deletes what is left."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    community, topic = await community_with_topic(gw, LONG)
    await groups.delete_topic_from_community("alice", community, [topic])
    await erase_all(gw)
    timeline = keys.group_timeline(topic)
    deleted = keys.group_deleted_topics(community)
    assert [k for k in await app_keys(gw) if k.startswith(timeline)] == [], "no seq counter kept"
    assert await gw.redis.hgetall(deleted) == {ERASED_TOPIC_FIELD + topic: str(LONG)}
    # not in the community's info hash, which every send reads whole
    info_fields = await gw.redis.hkeys(keys.group_info(community))
    assert [f for f in info_fields if f.startswith((ERASING_TOPIC_FIELD, ERASED_TOPIC_FIELD))] == []

    await remake(engine, community, topic)
    assert not await gw.redis.exists(deleted), "a re-made ID keeps no record"
    await send(engine, "alice", topic, "new")
    (message,) = await engine.messages.get_group_history_message_list("alice", topic, 10)
    assert message.seq == LONG + 1

    await groups.delete_topic_from_community("alice", community, [topic])
    await groups.dismiss_group("alice", community)
    await erase_all(gw)
    assert [k for k in await app_keys(gw) if k.startswith(timeline)] == []
    assert not await gw.redis.exists(keys.group_deleted_topics(community)), "its records with it"
    assert not await queued(gw, community)


# ---- the users' side ------------------------------------------------------------------------------
async def _set_up_settings(gw: Gateway, community: str, topic: str) -> None:
    """bob and carol (members) each send to the topic (their read marks in it), silence it, and keep
    a draft and a pin for its conversation (written as their state holds them: a topic's
    conversation is in no list the conversation API pins or drafts in); then carol quits."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    conversation = f"group_{topic}"
    for user in ("bob", "carol"):
        await send(engine, user, topic, "hello")
        await engine.messages.set_group_receive_message_opt(user, topic, MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE)
        await gw.redis.hset(keys.conversation_state(user, "draft"), conversation, "unsent")
        await gw.redis.hset(keys.conversation_state(user, "pinned"), conversation, "1")
    await engine.groups.quit_group("carol", community)


async def _left_over(gw: Gateway, topic: str) -> dict[str, Any]:
    """What bob and carol keep of the topic's conversation."""
    keys = keys_of(gw)
    conversation = f"group_{topic}"
    found: dict[str, Any] = {}
    for user in ("bob", "carol"):
        kept = {
            "recvOpt": await gw.redis.hget(keys.receive_options(user), keys.receive_option_field(conversation)),
            "read": await gw.redis.hget(keys.group_read_seqs(user), conversation),
            "draft": await gw.redis.hget(keys.conversation_state(user, "draft"), conversation),
            "pinned": await gw.redis.hget(keys.conversation_state(user, "pinned"), conversation),
        }
        found.update({f"{user}.{name}": value for name, value in kept.items() if value is not None})
    return found


async def test_a_deleted_topics_users_side_does_not_apply_to_one_made_again_under_its_id(gw: Gateway) -> None:
    engine = embedded(gw.backend)
    community, topic = await community_with_topic(gw, members=("bob", "carol"))
    await _set_up_settings(gw, community, topic)
    assert len(await _left_over(gw, topic)) == 8  # what the check below looks for

    await engine.groups.delete_topic_from_community("alice", community, [topic])
    await remake(engine, community, topic)

    assert await _left_over(gw, topic) == {}
    assert [g.groupID for g in await engine.groups.get_joined_group_list("bob")] == [community], "bob's still"
    await send(engine, "alice", topic, "to the new topic")
    assert await engine.messages.group_unread("bob", topic) == 1, "the new topic's message unread for bob"


class _Cut(Exception):
    """The gateway dying right after the topic's deletion committed."""


@pytest.mark.parametrize("finished_by", ["the erasers", "the community's dismissal"])
async def test_a_deletion_cut_before_it_forgot_its_users_side_has_it_forgotten(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, finished_by: str
) -> None:
    engine = embedded(gw.backend)
    groups = engine.groups
    community, topic = await community_with_topic(gw, history=10, members=("bob", "carol"))
    await _set_up_settings(gw, community, topic)

    async def dying(*args: Any) -> int:
        raise _Cut

    monkeypatch.setattr(groups.eraser, "forget_conversation", dying)
    (deleted,) = await groups.delete_topic_from_community("alice", community, [topic])
    monkeypatch.undo()
    assert deleted.errorCode == 0, "committed: the rest is the erasers'"
    assert await marks(gw, community) == [ERASING_TOPIC_FIELD + topic]

    if finished_by == "the erasers":
        await manual_clock(gw).advance(DISMISSAL_HOLD_SECONDS)
        await erase_all(gw)
        assert await stored_count(gw, topic) == 0
        await remake(engine, community, topic)
    else:
        await groups.dismiss_group("alice", community)
    assert await _left_over(gw, topic) == {}


async def test_a_receive_option_written_after_the_first_forgetting_is_forgotten_too(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member's write of their side (here the receive option) checks that the topic is there
    before it writes, not after: one that checked before the commit may land after the first
    forgetting went past them, while the timeline is still being erased. The erasure forgets the
    users' side once more before it ends: a topic made again under the ID reads the default."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    community, topic = await community_with_topic(gw, LONG, members=("bob",))
    field = keys.receive_option_field(f"group_{topic}")
    await engine.messages.set_group_receive_message_opt("bob", topic, MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE)
    written = await gw.redis.hget(keys.receive_options("bob"), field)
    assert written is not None
    forget = groups.eraser.forget_conversation
    passes: list[bool] = []

    async def late_write_after_the_first_pass(community: str, topic_id: str, held: Hold, budget: int) -> Any:
        done, used = await forget(community, topic_id, held, budget)
        if done and not passes:
            # bob's write, its check passed before the commit, lands now
            await gw.redis.hset(keys.receive_options("bob"), field, written)
        passes.append(done)
        return done, used

    monkeypatch.setattr(groups.eraser, "forget_conversation", late_write_after_the_first_pass)
    (deleted,) = await groups.delete_topic_from_community("alice", community, [topic])
    assert deleted.errorCode == 0
    assert await gw.redis.hget(keys.receive_options("bob"), field) == written, "landed after the first pass"
    await erase_all(gw)
    monkeypatch.undo()

    assert await stored_count(gw, topic) == 0
    assert await gw.redis.hget(keys.receive_options("bob"), field) is None
    await remake(engine, community, topic)
    (seen,) = await groups.get_topic_info_list("bob", community, [topic])
    assert seen.topicInfo is not None
    assert getattr(seen.topicInfo, "recvOpt", None) == int(MessageOpt.V2TIM_RECEIVE_MESSAGE)


async def test_a_large_communitys_topic_deletion_leaves_the_forgetting_to_the_erasers_step_by_step(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A community of more than FORGET_BATCH members (the batch made 1 here, for the deletion and
    the erasers alike): the deletion commits and hands the rest to the erasers (nothing forgotten
    nor erased in the request); an eraser's forgetting counts toward its budget, a step going on
    from where the last one stopped, a page of members at a time."""
    engine = embedded(gw.backend)
    groups = engine.groups
    community, topic = await community_with_topic(gw, history=10, members=("bob", "carol", "dave"))
    await _set_up_settings(gw, community, topic)  # alice, bob and dave members, carol a former one
    stored = await stored_count(gw, topic)
    monkeypatch.setattr(erasure_queue, "FORGET_BATCH", 1)
    groups.eraser.woken.clear()

    (deleted,) = await groups.delete_topic_from_community("alice", community, [topic])

    assert deleted.errorCode == 0
    assert await stored_count(gw, topic) == stored, "nothing erased in the request"
    assert len(await _left_over(gw, topic)) == 8, "nor forgotten"
    assert groups.eraser.woken.is_set()
    assert await queued(gw, TOPIC_ENTRY + topic)

    assert await groups.eraser.step(2), "a step of 2 units: a page of one member (alice, first to join)"
    assert len(await _left_over(gw, topic)) == 8, "bob, next in join order, not yet"
    assert await groups.eraser.step(2), "the next page: bob"
    left = await _left_over(gw, topic)
    assert [k for k in left if k.startswith("bob.")] == [], "bob forgotten"
    assert len(left) == 4, "the former member not yet"
    assert await stored_count(gw, topic) == stored
    await erase_all(gw)
    assert await _left_over(gw, topic) == {}
    assert await stored_count(gw, topic) == 0


async def test_the_topics_deleted_before_one_that_fails_are_told(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting two topics, the second failing (or the request's deadline cutting it): the first's
    deletion is committed, and its onTopicDeleted goes out all the same."""
    engine = embedded(gw.backend)
    groups = engine.groups
    community, first = await community_with_topic(gw)
    second = await groups.create_topic_in_community("alice", community, TopicInfo(topicID="", topicName="two"))
    real = topic_erasure.commit_topic_deletion
    told: list[Any] = []
    emit = groups.store.emit

    async def second_fails(eraser: Any, group_id: str, topic_id: str) -> Hold | None:
        if topic_id == second:
            raise _Cut
        return await real(eraser, group_id, topic_id)

    async def telling(group: Any, event: Any, **kwargs: Any) -> None:
        told.append(event)
        await emit(group, event, **kwargs)

    monkeypatch.setattr(extras, "commit_topic_deletion", second_fails)
    monkeypatch.setattr(groups.store, "emit", telling)
    with pytest.raises(_Cut):
        await groups.delete_topic_from_community("alice", community, [first, second])

    assert [e.topicIDList for e in told if isinstance(e, OnTopicDeleted)] == [[first]]


# ---- the wiring -------------------------------------------------------------------------------------
async def test_a_topic_deletion_counts_what_it_erases_and_wakes_the_eraser(gw: Gateway) -> None:
    """A topic's deletion works on the gateway's own eraser: the messages it erases itself are
    counted (imql_group_messages_erased), and the rest wakes this replica's eraser loop."""
    groups = embedded(gw.backend).groups
    _, short = await community_with_topic(gw, 25)
    community, long = await community_with_topic(gw, LONG)
    groups.eraser.woken.clear()

    await groups.delete_topic_from_community("alice", topic_parent(short) or "", [short])
    assert not groups.eraser.woken.is_set(), "all of it erased by the deletion: no one to wake"
    assert gw.metrics.registry.get_sample_value("imql_group_messages_erased_total") == 25
    await groups.delete_topic_from_community("alice", community, [long])

    assert groups.eraser.woken.is_set()
    erased = LONG - await stored_count(gw, long)
    assert gw.metrics.registry.get_sample_value("imql_group_messages_erased_total") == 25 + erased
