"""A fan-out pass's socket writes held and made in runs (gateway.events.fanout.HeldWrites): every
member's frames are written, in runs of WRITES_HELD and the rest when the pass ends, a connection
the pass holds frames for gets its other frames behind them (write_now, send), and one write
that fails costs the others nothing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from gateway.events import fanout as fanout_module
from gateway.events.fanout import HeldWrites
from gateway.web.ws_protocols import ListenerOperation
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway
from tests.support.sockets import open_connections, record_writes
from tests.test_listener_path import NO_CURSOR_DOC, drain, joined, meeting_group

MEMBERS = ("h1", "h2", "h3", "h4", "h5", "h6")


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
            steps.append(("wrote", name))
            write(data)

        connection.transport.write = logged  # type: ignore[method-assign]
    for ws, op in subscribed.values():
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)  # the document's first render, kept for the pass
    for ws, op in subscribed.values():
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "one"

    original = ListenerOperation._written

    def written(self: ListenerOperation, deliveries: Any, later: Any = None) -> bool:
        assert self.listening is not None
        steps.append(("took" if later is not None else "woken", self.listening._session.user_id))
        return original(self, deliveries, later)

    monkeypatch.setattr(ListenerOperation, "_written", written)
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

    def frame(n: int) -> bytes:
        return orjson.dumps({"id": "9", "type": "next", "payload": {"data": {"n": n}}})

    held = HeldWrites(size=10)
    assert connection.write_now([frame(1)], held)
    assert connection.write_now([frame(2)])  # no run of its own: behind what is held
    assert writes == []
    assert connection.held is held
    await connection.send({"type": "websocket.send", "text": frame(3).decode()})  # the held go first
    assert connection.held is None
    assert [w[2:] for w in writes] == [frame(1), frame(2), frame(3)]  # after each one's 2-byte header
    held.release()  # nothing left: writes nothing again
    assert connection.write_now([frame(4)])  # written at once again
    assert len(writes) == 4
    assert [(await ws.next("9"))["payload"]["data"]["n"] for _ in range(4)] == [1, 2, 3, 4]
    await ws.close()


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
