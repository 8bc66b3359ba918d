"""A fan-out pass's socket writes held and made in runs (gateway.events.fanout.HeldWrites): every
member's frames are written, in runs of WRITES_HELD and the rest when the pass ends, a connection
the pass holds frames for gets its other frames behind them (write_now, send), and one write
that fails costs the others nothing."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import Any

import orjson
import pytest

from gateway.events import fanout as fanout_module
from gateway.events.dispatcher import Dispatcher
from gateway.events.fanout import Fanout, HeldWrites
from gateway.session.listening import Listening
from gateway.web.ws_protocols import ListenerOperation
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway
from tests.support.sockets import open_connections, record_writes
from tests.test_listener_path import NO_CURSOR_DOC, drain, joined, meeting_group

MEMBERS = ("h1", "h2", "h3", "h4", "h5", "h6")


def frame(n: int) -> bytes:
    """A `next` message of operation 9, which no test subscribed: the client queues it as is."""
    return orjson.dumps({"id": "9", "type": "next", "payload": {"data": {"n": n}}})


def ours(recorded: list[bytes]) -> list[bytes]:
    """The messages of operation 9 among a connection's writes (each one's 2-byte frame header
    off), whatever else (a keepalive ping) was written meanwhile."""
    return [w[2:] for w in recorded if b'"id":"9"' in w]


async def test_a_pass_writes_its_members_frames_in_runs_and_the_rest_when_it_ends(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six members of a group, runs of three. A message's first member renders it (its drain
    writes it at once), the other five take it in the pass: three taken, their three writes, two
    more taken, and their writes when the pass ends."""
    monkeypatch.setattr(fanout_module, "WRITES_HELD", 3)
    owner, gid = await meeting_group(client, "runs")
    subscribed: dict[str, tuple[WSClient, str]] = {}
    steps: list[tuple[str, str]] = []
    for name in MEMBERS:
        before = set(open_connections())
        ws = await WSClient.connect(server.ws_url, await joined(client, gid, name))
        subscribed[name] = (ws, await ws.subscribe(NO_CURSOR_DOC))
        [connection] = set(open_connections()) - before
        write = connection.transport.write

        def logged(data: Any, name: str = name, write: Any = write) -> None:
            if b'"type":"next"' in bytes(data):  # not a keepalive ping
                steps.append(("wrote", name))
            write(data)

        connection.transport.write = logged  # type: ignore[method-assign]
    for ws, op in subscribed.values():
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)  # the document's first render, kept for the pass
    for ws, op in subscribed.values():
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "one"

    original = Listening.take_now

    def took(self: Listening, fanout: Fanout, *, cursors: bool = True) -> Any:
        steps.append(("took", self._session.user_id))
        return original(self, fanout, cursors=cursors)

    monkeypatch.setattr(Listening, "take_now", took)
    steps.clear()
    await send_text(client, owner, "two", group=gid)
    for ws, op in subscribed.values():
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "two"
    first, rest = steps[:2], steps[2:]
    # the first finds no kept payload: it declines to write (nothing held), its drain renders and writes
    assert [kind for kind, _ in first] == ["took", "wrote"]
    assert first[0][1] == first[1][1]
    assert [kind for kind, _ in rest] == ["took"] * 3 + ["wrote"] * 3 + ["took"] * 2 + ["wrote"] * 2
    for run in (rest[:6], rest[6:]):
        taken = [name for kind, name in run if kind == "took"]
        assert [name for kind, name in run if kind == "wrote"] == taken  # each its own, in order
    assert sorted(name for kind, name in steps if kind == "wrote") == sorted(MEMBERS)
    for ws, _ in subscribed.values():
        await ws.close()


async def test_a_held_connections_other_frames_go_behind_what_the_pass_holds(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """While a pass holds frames for a connection, its other frames (written now, or sent through
    the ASGI send by a drain begun in the pass) go behind them: nothing overtakes what is held.
    Once written, the connection writes as it did."""
    before = set(open_connections())
    ws = await WSClient.connect(server.ws_url, await client.login("holder"))
    [connection] = set(open_connections()) - before
    ws.queues["9"] = asyncio.Queue()
    writes = record_writes(connection)

    held = HeldWrites(size=10)
    assert connection.write_now([frame(1)], held)
    assert connection.write_now([frame(2)])  # no run of its own: behind what is held
    assert ours(writes) == []
    assert connection.held is held
    await connection.send({"type": "websocket.send", "text": frame(3).decode()})  # the held go first
    assert connection.held is None
    assert ours(writes) == [frame(1), frame(2), frame(3)]
    held.release()  # nothing left: writes nothing again
    assert connection.write_now([frame(4)])  # written at once again
    assert len(ours(writes)) == 4
    assert [(await ws.next("9"))["payload"]["data"]["n"] for _ in range(4)] == [1, 2, 3, 4]
    await ws.close()


async def test_a_connection_held_by_one_run_writes_there_whatever_run_it_is_offered(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """Two group streams read together: a connection held by the first stream's run gets its
    frame for the second stream's run behind it, in the first, whichever run is written first."""
    before = set(open_connections())
    ws = await WSClient.connect(server.ws_url, await client.login("twice"))
    [connection] = set(open_connections()) - before
    ws.queues["9"] = asyncio.Queue()
    writes = record_writes(connection)
    first, second = HeldWrites(size=10), HeldWrites(size=10)
    assert connection.write_now([frame(1)], first)
    assert connection.write_now([frame(2)], second)  # joins `first`, behind frame 1
    second.release()
    assert ours(writes) == []
    first.release()
    assert connection.held is None
    assert ours(writes) == [frame(1), frame(2)]
    assert [(await ws.next("9"))["payload"]["data"]["n"] for _ in range(2)] == [1, 2]
    await ws.close()


async def test_a_subscription_ending_in_the_pass_sends_its_error_behind_what_is_held(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One connection, two subscriptions: while a pass holds the first one's frame, the second
    ends with an error (its drain, begun eagerly in the pass, sends through the ASGI send): the
    held frame is written first, then the error and `complete`."""
    before = set(open_connections())
    ws = await WSClient.connect(server.ws_url, await client.login("ending"))
    [connection] = set(open_connections()) - before
    first_op = await ws.subscribe(NO_CURSOR_DOC)
    second_op = await ws.subscribe(NO_CURSOR_DOC)
    ws.queues["9"] = asyncio.Queue()
    await drain(ws, first_op)
    await drain(ws, second_op)
    [failing] = [
        o
        for o in gc.get_objects()
        if isinstance(o, ListenerOperation)
        and o.id == second_op
        and o.listening is not None
        and o.listening._session.user_id == "ending"
    ]
    writes = record_writes(connection)
    held = HeldWrites(size=10)
    assert connection.write_now([frame(1)], held)  # the first subscription's frame, held by the pass
    failing._start(failing._failed(RuntimeError("boom")))  # as `_take` does when a take raises
    await asyncio.sleep(0.1)
    assert connection.held is None
    assert ours(writes)[0] == frame(1)
    assert (await ws.next("9"))["payload"]["data"]["n"] == 1
    failed = await ws.next(second_op)
    assert failed["type"] == "next"
    assert failed["payload"]["data"] is None
    assert (await ws.next(second_op))["type"] == "complete"
    held.release()  # nothing left
    assert ours(writes) == [frame(1)]  # written once
    await ws.close()


async def test_held_writes_are_made_even_when_the_pass_breaks_off(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever ends a pass early, what it held is written (Dispatcher._hand_out's `finally`): a
    member that took the message before the break gets it, and no connection stays held."""
    owner, gid = await meeting_group(client, "breaks")
    subscribed: dict[str, tuple[WSClient, str]] = {}
    for name in ("b1", "b2", "b3"):
        ws = await WSClient.connect(server.ws_url, await joined(client, gid, name))
        subscribed[name] = (ws, await ws.subscribe(NO_CURSOR_DOC))
    for ws, op in subscribed.values():
        await drain(ws, op)
    handed = 0
    original = Dispatcher._hand

    def hand(mailbox: Any, entries: Any, fanout: Any) -> None:
        nonlocal handed
        original(mailbox, entries, fanout)
        handed += 1
        if handed == 2:  # the first renders the message (and writes it itself), the second takes it
            raise RuntimeError("the pass breaks off")

    monkeypatch.setattr(Dispatcher, "_hand", staticmethod(hand))
    await send_text(client, owner, "two", group=gid)
    got = []
    for name, (ws, op) in subscribed.items():
        with contextlib.suppress(TimeoutError):
            event = await ws.next_event(op, timeout=1)
            got.append((name, event["message"]["textElem"]["text"]))
    assert [text for _, text in got] == ["two", "two"]  # the one that took it too, not only the first
    assert all(c.held is None for c in open_connections())
    for ws, _ in subscribed.values():
        await ws.close()


async def test_a_held_write_that_raises_aborts_its_connection(
    client: HTTPClient, server: InProcessGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """The frames were taken from the subscription: a write that raises must not leave it
    running without them. Its connection is aborted (the client resumes from its cursor), the
    run's other writes are made."""
    connections = []
    clients = []
    for name in ("raises", "fine"):
        before = set(open_connections())
        clients.append(await WSClient.connect(server.ws_url, await client.login(name)))
        [connection] = set(open_connections()) - before
        connections.append(connection)
    clients[1].queues["9"] = asyncio.Queue()

    def refused(data: Any) -> None:
        raise RuntimeError("the transport refused the write")

    connections[0].transport.write = refused  # type: ignore[method-assign]
    held = HeldWrites(size=10)
    assert connections[0].write_now([frame(1)], held)
    assert connections[1].write_now([frame(2)], held)
    with caplog.at_level(logging.ERROR, logger="gateway.events.fanout"):
        held.release()
    assert "could not write" in caplog.text
    assert connections[0].held is None
    code, _ = await asyncio.wait_for(clients[0].closed, 5)
    assert code == 1006  # aborted: no closing handshake
    assert (await clients[1].next("9"))["payload"]["data"]["n"] == 2
    for ws in clients:
        await ws.close()


def test_a_write_held_while_a_run_is_being_written_comes_after_it() -> None:
    """Held during a release (nothing does so today): written by that release, after the rest."""
    written: list[tuple[str, bytes]] = []
    held = HeldWrites(size=2)

    class Reentering(_Holder):
        def write_held(self, data: bytes) -> None:
            super().write_held(data)
            held.hold(_Holder("late", written), b"3")
            held.hold(_Holder("later", written), b"4")  # a full run: not released from inside

    held.hold(Reentering("a", written), b"1")
    held.hold(_Holder("b", written), b"2")
    assert written == [("a", b"1"), ("b", b"2"), ("late", b"3"), ("later", b"4")]


class _Holder:
    def __init__(self, name: str, written: list[tuple[str, bytes]], fails: bool = False) -> None:
        self.name, self.written, self.fails = name, written, fails

    def write_held(self, data: bytes) -> None:
        if self.fails:
            raise ConnectionResetError("gone")
        self.written.append((self.name, data))


def test_a_held_write_that_fails_costs_the_others_nothing(caplog: pytest.LogCaptureFixture) -> None:
    written: list[tuple[str, bytes]] = []
    held = HeldWrites(size=3)
    held.hold(_Holder("a", written), b"1")
    held.hold(_Holder("b", written, fails=True), b"2")
    assert written == []
    with caplog.at_level(logging.ERROR, logger="gateway.events.fanout"):
        held.hold(_Holder("c", written), b"3")  # the run is full: all three written now
    assert written == [("a", b"1"), ("c", b"3")]
    assert "could not write 1 bytes of a fan-out" in caplog.text
    held.hold(_Holder("d", written), b"4")
    assert written == [("a", b"1"), ("c", b"3")]
    held.release()
    assert written == [("a", b"1"), ("c", b"3"), ("d", b"4")]
