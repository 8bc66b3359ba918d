"""A member's group receive option (V2TIM_NOT_RECEIVE_MESSAGE) takes effect at a position of the
group's stream, named by its `silence` / `receive` control entry: the group's messages up to there
are judged by the option before, later ones by the new one, whichever of the two streams (the
member's own, the group's) a subscription happens to read first. On real Redis, with the races
made deterministic: a group entry appended without a poke (this gateway learns of it only by
reading the stream), a control entry appended without one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateway.events import bus as bus_module
from gateway.events.delivery import Delivery
from gateway.ids import TOPIC_MARK
from gateway.im.enums import ElemType, MessageOpt, MsgStatus
from gateway.im.events import MESSAGE_LISTENER, OnRecvNewMessage
from gateway.im.messages import Message, TextElem
from gateway.keys import Keys
from gateway.services import Gateway
from tests.test_event_bus import session_of

GROUP = "big"


def message(text: str, group: str = GROUP) -> OnRecvNewMessage:
    """A group message (or a C2C one, group ""), known by its text."""
    return OnRecvNewMessage(
        message=Message(
            msgID=f"m-{text}",
            sender="bob",
            groupID=group,
            userID="" if group else "bob",
            status=MsgStatus.V2TIM_MSG_STATUS_SEND_SUCC,
            isSelf=False,
            isRead=False,
            elemType=ElemType.V2TIM_ELEM_TYPE_TEXT,
            textElem=TextElem(text=text),
        )
    )


def text_of(delivery: Delivery) -> str:
    event = delivery.event
    assert isinstance(event, OnRecvNewMessage)
    assert event.message.textElem is not None
    return event.message.textElem.text


class Messages:
    """One advancedMsgListener subscription of `user` in a task, collecting what it yields."""

    def __init__(self, gw: Gateway, user: str = "alice", sid: str = "s1", since: str | None = None) -> None:
        self.gw, self.user = gw, user
        self.items: list[Delivery] = []
        self.arrived = asyncio.Event()
        self._events: AsyncIterator[Delivery] = session_of(gw, user, sid).listen(MESSAGE_LISTENER, since)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for delivery in self._events:
            self.items.append(delivery)
            self.arrived.set()

    @property
    def texts(self) -> list[str]:
        return [text_of(d) for d in self.items]

    async def until(self, text: str) -> list[str]:
        """Everything yielded up to the message `text` (which must come)."""

        async def reached() -> None:
            while text not in self.texts:
                if self.task.done():
                    self.task.result()  # its error, if any
                    raise AssertionError(f"ended before {text!r}: {self.texts}")
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(reached(), 10)
        return self.texts

    async def ready(self, probe: str) -> None:
        """Following its streams: a message to the user's own stream has come through."""
        await asyncio.sleep(0.05)
        await self.gw.bus.publish([self.user], message(probe, group=""))
        await self.until(probe)

    def cursor_after(self, text: str) -> str:
        return next(d.cursor for d in self.items if text_of(d) == text)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def to_group(gw: Gateway, text: str, group: str = GROUP, *, poke: bool = True) -> None:
    """A group message; without a poke, as another writer might append it (or its poke be lost):
    a subscription gets it only once something makes its dispatcher read the group's stream."""
    event = message(text, group)
    stream_group = group.partition(TOPIC_MARK)[0]
    if poke:
        await gw.bus.publish_to_group(stream_group, event)
    else:
        await gw.redis.xadd(gw.keys.group_events(stream_group), bus_module._event_fields(event))


async def set_option(gw: Gateway, user: str, group: str, receiving: bool) -> None:
    """What the engine does (GroupMessages.set_group_receive_message_opt) when the option flips:
    the option kept, with the control entry (naming the group stream's position) that the user's
    subscriptions apply."""
    opt = MessageOpt.V2TIM_RECEIVE_MESSAGE if receiving else MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE
    await gw.bus.receive_option_changed(user, group, receiving, keep=(Keys.group_receive_option_field(group), int(opt)))


async def unannounced_option(gw: Gateway, user: str, group: str, receiving: bool) -> None:
    """`set_option`, but the control entry's poke lost (or late): the user's subscriptions read it
    only with their stream's next entry."""
    opt = MessageOpt.V2TIM_RECEIVE_MESSAGE if receiving else MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE
    await gw.redis.hset(gw.keys.receive_options(user), Keys.group_receive_option_field(group), int(opt))
    position = await gw.bus.group_position(group.partition(TOPIC_MARK)[0])
    op = bus_module.ControlOp(op="receive" if receiving else "silence", group=group, position=position)
    fields = {
        bus_module.F_LISTENER: bus_module.CONTROL_LISTENER,
        bus_module.F_EVENT: bus_module._control_encoder.encode(op).decode(),
    }
    await gw.redis.xadd(gw.keys.user_events(user), fields)


async def member(gw: Gateway, sid: str = "s1", group: str = GROUP) -> Messages:
    subscription = Messages(gw, sid=sid)
    await subscription.ready(f"ready-{sid}")
    await gw.bus.join_group_stream(["alice"], group)
    await to_group(gw, f"joined-{sid}")
    await subscription.until(f"joined-{sid}")
    return subscription


async def test_messages_sent_before_the_silence_are_shown_though_read_after_it(gw: Gateway) -> None:
    """`before 1` and `before 2` are in the group's stream when the option changes, but no poke
    told this gateway (it reads them with `after`, which comes after the silence): judged by the
    option they were sent under, every subscription of the member shows them. `after` is hidden."""
    first, second = await member(gw, "s1"), await member(gw, "s2")
    await to_group(gw, "before 1", poke=False)
    await to_group(gw, "before 2", poke=False)
    await set_option(gw, "alice", GROUP, receiving=False)
    await to_group(gw, "after")
    await gw.bus.publish(["alice"], message("own", group=""))
    for subscription in (first, second):
        assert (await subscription.until("own"))[-4:] == ["joined-s2", "before 1", "before 2", "own"]
    await asyncio.sleep(0.2)
    assert first.texts[-1] == second.texts[-1] == "own"
    # each came with its own cursor: a resume from one gives what follows it, once
    resumed = Messages(gw, sid="s3", since=first.cursor_after("before 1"))
    assert await resumed.until("own") == ["before 2", "own"]
    again = Messages(gw, sid="s4", since=first.cursor_after("before 2"))
    assert await again.until("own") == ["own"]
    for subscription in (first, second, resumed, again):
        await subscription.stop()


async def test_a_subscription_opened_between_the_options_write_and_its_entry_reads_by_position(
    gw: Gateway,
) -> None:
    """The engine writes the option and its control entry in one round trip, but another client's
    command may come between the two: a subscription opening there loads the new option before
    its entry. A message it has not read when the entry comes is judged at the entry's position,
    as every other subscription judges it: `before, read late`, sent before the change, is shown.
    (`before`, which it read before the entry, it judged by the option it loaded, silenced: it
    cannot know the option was newer than its stream.)"""
    subscription = await member(gw)
    field = Keys.group_receive_option_field(GROUP)
    await gw.redis.hset(gw.keys.receive_options("alice"), field, int(MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE))
    opened = Messages(gw, sid="s2")
    await opened.ready("ready-s2")
    await to_group(gw, "before")
    await subscription.until("before")
    await to_group(gw, "before, read late", poke=False)
    await gw.bus.receive_option_changed("alice", GROUP, receiving=False)
    await to_group(gw, "after")
    await gw.bus.publish(["alice"], message("own", group=""))
    assert (await subscription.until("own"))[-3:] == ["before", "before, read late", "own"]
    assert (await opened.until("own"))[-2:] == ["before, read late", "own"]
    await asyncio.sleep(0.2)
    assert subscription.texts[-1] == opened.texts[-1] == "own"
    for each in (subscription, opened):
        await each.stop()


async def test_a_message_sent_before_receiving_again_stays_hidden_though_read_after_it(gw: Gateway) -> None:
    """The mirror: silenced, then receiving again while the group's `before` is still to be read
    here. Sent while the member received nothing from the group, it stays hidden; `after` shows."""
    subscription = await member(gw)
    await set_option(gw, "alice", GROUP, receiving=False)
    await to_group(gw, "silenced")
    await to_group(gw, "before", poke=False)
    await set_option(gw, "alice", GROUP, receiving=True)
    await to_group(gw, "after")
    await gw.bus.publish(["alice"], message("own", group=""))
    assert (await subscription.until("own"))[-3:] == ["joined-s1", "after", "own"]
    await subscription.stop()


async def test_a_message_sent_after_receiving_again_but_read_before_it_is_delivered_late(gw: Gateway) -> None:
    """Receiving again, but the control entry is read late (its poke lost): the group's `after`,
    sent after the change, reaches the subscription first and is hidden by the option it still
    knows. Reading the control, the subscription delivers from the log what it hid after the
    control's position: late, but not lost. A resume from before the control does the same, once."""
    subscription = await member(gw)
    await set_option(gw, "alice", GROUP, receiving=False)
    await to_group(gw, "silenced")
    await unannounced_option(gw, "alice", GROUP, receiving=True)
    await to_group(gw, "after")
    await asyncio.sleep(0.1)
    await gw.bus.publish(["alice"], message("own", group=""))  # its read finds the control first
    assert (await subscription.until("own"))[-3:] == ["joined-s1", "after", "own"]
    await asyncio.sleep(0.2)
    assert subscription.texts[-1] == "own"
    # a resume from before the control (after `joined`) gets `after` once, and nothing else again
    resumed = Messages(gw, sid="s2", since=subscription.cursor_after("joined-s1"))
    assert await resumed.until("own") == ["after", "own"]
    # from `after`'s cursor (the control read): only what follows
    again = Messages(gw, sid="s3", since=subscription.cursor_after("after"))
    assert await again.until("own") == ["own"]
    for each in (subscription, resumed, again):
        await each.stop()


async def test_a_message_shown_before_a_late_silence_is_not_delivered_again_by_a_late_receive(
    gw: Gateway,
) -> None:
    """Both changes read late (their pokes lost), after the group's `between`, which came after
    both positions: shown under the option the subscription knew (it cannot be taken back), it is
    not among what the receive finds hidden after its position."""
    subscription = await member(gw)
    await unannounced_option(gw, "alice", GROUP, receiving=False)
    await unannounced_option(gw, "alice", GROUP, receiving=True)
    await to_group(gw, "between")
    await subscription.until("between")
    await gw.bus.publish(["alice"], message("own", group=""))
    assert (await subscription.until("own"))[-3:] == ["joined-s1", "between", "own"]
    await asyncio.sleep(0.2)
    assert subscription.texts[-1] == "own"
    await subscription.stop()


async def test_a_resume_after_toggles_judges_each_message_by_the_option_it_was_sent_under(gw: Gateway) -> None:
    """Silenced, receiving, silenced again while the client was away: the resume opens with the
    option now (silenced) but replays from before all three, so each replayed message is judged
    by the option in force at its place in the group's stream: (silence, receive] hidden, the rest
    shown."""
    subscription = await member(gw)
    cursor = subscription.cursor_after("joined-s1")
    await subscription.stop()
    await to_group(gw, "1 shown")
    await set_option(gw, "alice", GROUP, receiving=False)
    await to_group(gw, "2 hidden")
    await set_option(gw, "alice", GROUP, receiving=True)
    await to_group(gw, "3 shown")
    await set_option(gw, "alice", GROUP, receiving=False)
    await to_group(gw, "4 hidden")
    await gw.bus.publish(["alice"], message("own", group=""))
    resumed = Messages(gw, sid="s2", since=cursor)
    assert await resumed.until("own") == ["1 shown", "3 shown", "own"]
    # and from the middle (after "1 shown"): the silence is behind the cursor, the rest replays
    middle = Messages(gw, sid="s3", since=resumed.cursor_after("1 shown"))
    assert await middle.until("own") == ["3 shown", "own"]
    for each in (resumed, middle):
        await each.stop()


async def test_a_topics_option_takes_effect_at_its_communitys_stream_position(gw: Gateway) -> None:
    """A topic's messages are in its community's stream: the option's position is that stream's."""
    topic = f"{GROUP}{TOPIC_MARK}t1"
    subscription = await member(gw)
    await to_group(gw, "before", topic, poke=False)
    await set_option(gw, "alice", topic, receiving=False)
    await to_group(gw, "after", topic)
    await to_group(gw, "other topic", f"{GROUP}{TOPIC_MARK}t2")
    await gw.bus.publish(["alice"], message("own", group=""))
    assert (await subscription.until("own"))[-4:] == ["joined-s1", "before", "other topic", "own"]
    await subscription.stop()
