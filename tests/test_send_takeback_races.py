"""A group send taken back because its group's dismissal raced it tells the app nothing.

The send writes its message, then reads the group (`GroupStore.queue_open_check`); one that reads
it closed or gone takes its writes back and answers 10010. Its Group.CallbackAfterSendMsg used to
be queued in that same write, before the read's answer, and the callback worker delivered it: the
app heard of a message that did not exist. Now it is queued only once the read has found the group
open. The app's callback endpoint here is a real HTTP receiver, fed by the gateway's own callback
worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.backend import EmbeddedBackend
from gateway.errors import Code, IMError
from gateway.im.enums import ElemType, GroupType
from gateway.im.messages import Content, SendOptions, TextElem
from gateway.services import Gateway
from gateway.v4 import callbacks as wire
from tests.support.callback_receiver import CallbackReceiver
from tests.support.engine import HeldSends, embedded

MEETING = GroupType.V2TIM_GROUP_TYPE_MEETING
SESSION = "s-test"
# bounds on waits, never reached but by a broken gateway: a loaded machine (CI) may be slow
PATIENCE_SECONDS = 60.0


@pytest.fixture
async def gw(settings: Settings, receiver: CallbackReceiver) -> AsyncIterator[Gateway]:
    """A gateway whose callbacks (every command) go to `receiver`, its callback worker running; a POST
    has long enough that a loaded machine does not turn a slow answer into a retry seconds later."""
    patient = dataclasses.replace(settings, callback_url=receiver.url, callback_timeout_seconds=PATIENCE_SECONDS)
    gateway = Gateway.build(patient, clock=ManualClock())
    await gateway.start()
    try:
        for user in ("alice", "bob"):
            await gateway.backend.accounts.ensure_account(user)
        yield gateway
    finally:
        await gateway.close()


def text(body: str) -> Content:
    return Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=body))


async def send(engine: EmbeddedBackend, sender: str, group: str, body: str) -> str:
    created = await engine.messages.create_message(sender, text(body))
    sent = await engine.messages.send_group_message(sender, SESSION, created.id, group, SendOptions())
    return sent.msgID


def _text_of(body: dict[str, Any]) -> str:
    return str(body["MsgBody"][0]["MsgContent"]["Text"])


async def _all_delivered(gw: Gateway) -> None:
    """Until the callback worker has finished with every entry of the queue: it deletes an entry
    once its POST is answered (or given up on), so whatever was queued has reached the receiver
    once none is left."""
    queue = embedded(gw.backend).groups.store.keys.callback_queue()
    async with asyncio.timeout(PATIENCE_SECONDS):
        while True:
            if not await gw.redis.xlen(queue):
                return
            await asyncio.sleep(0.01)


async def test_a_send_taken_back_for_a_dismissal_tells_the_app_nothing_and_a_normal_one_still_does(
    gw: Gateway, receiver: CallbackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = embedded(gw.backend)
    groups, messages = engine.groups, engine.messages
    doomed = await groups.create_group("alice", MEETING, None, "doomed")
    other = await groups.create_group("alice", MEETING, None, "other")
    for group in (doomed, other):
        await groups.join_group("bob", group, "")
    # the window held open: bob's send has checked his membership and taken its seq, and writes
    # only once the group is dismissed, so its check reads the group closed or gone
    held = HeldSends(monkeypatch, messages)
    claimed, go_on = held.claimed, held.go_on
    sending = asyncio.create_task(send(engine, "bob", doomed, "taken back"))
    await claimed.wait()
    await groups.dismiss_group("alice", doomed)
    go_on.set()
    with pytest.raises(IMError) as refused:
        await sending
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND
    monkeypatch.undo()

    # the control, sent after the taken-back send: its callback still goes out
    control = await send(engine, "bob", other, "control")
    (destroyed,) = await receiver.wait_for(wire.GROUP_AFTER_DESTROY, timeout=PATIENCE_SECONDS)
    assert destroyed.body["GroupId"] == doomed
    await receiver.wait_for(wire.GROUP_AFTER_SEND, timeout=PATIENCE_SECONDS)
    await _all_delivered(gw)  # so that a callback of the taken-back send would have arrived too
    after_sends = [(r.body["GroupId"], r.body["MsgId"], _text_of(r.body)) for r in receiver.of(wire.GROUP_AFTER_SEND)]
    assert after_sends == [(other, control, "control")]
