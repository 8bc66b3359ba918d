"""The callback sender's HTTP: imql's keep-alive client for plain http:// endpoints (plain_http),
against real local servers: the callback receiver (starlette on uvicorn) and raw asyncio servers
that answer in the ways an endpoint may (chunked, until close, closing kept-alive connections,
hanging). Failures map onto CallbackUnavailable / CallbackRejected as with httpx, and an endpoint
sees the same request line, Sign and body from either client."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import orjson
import pytest

from gateway.clock import ManualClock
from gateway.engine.callbacks import plain_http
from gateway.engine.callbacks.plain_http import PlainHTTPClient, PlainHTTPError
from gateway.engine.callbacks.sender import CallbackRejected, CallbackSender, CallbackUnavailable, plain_endpoint
from gateway.v4 import callbacks as wire
from gateway.v4.signing import verify_callback_sign
from tests.support.callback_receiver import CallbackReceiver, Reply

SDKAPPID = 1400000001
TOKEN = "xxxxyyyy"
OK = b'{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}'


def response(body: bytes, status: str = "200 OK", *, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 "
        + status.encode()
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + body
    )


@dataclass
class RawEndpoint:
    """An asyncio HTTP server whose answer to each request `answer(n, writer)` writes (n counts
    requests from 1); it records each request's head and body and each connection it accepted."""

    answer: Callable[[int, asyncio.StreamWriter], Awaitable[None]]
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    port: int = 0
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while not writer.is_closing():
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
                body = await reader.readexactly(int(length.group(1)) if length else 0)
                self.requests.append((head, body))
                await self.answer(len(self.requests), writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


@contextlib.asynccontextmanager
async def raw_endpoint(answer: Callable[[int, asyncio.StreamWriter], Awaitable[None]]) -> AsyncIterator[RawEndpoint]:
    endpoint = RawEndpoint(answer)
    server = await asyncio.start_server(endpoint._serve, "127.0.0.1", 0)
    endpoint.port = server.sockets[0].getsockname()[1]
    try:
        yield endpoint
    finally:
        server.close()
        for task in endpoint.handlers:
            task.cancel()
        await asyncio.gather(*endpoint.handlers, return_exceptions=True)


def sender_for(port: int, timeout: float = 2.0) -> CallbackSender:
    return CallbackSender(f"http://127.0.0.1:{port}/im/callback", TOKEN, SDKAPPID, ManualClock(), timeout)


async def post(sender: CallbackSender, body: dict[str, object] | None = None) -> dict[str, object]:
    return await sender.post(wire.C2C_AFTER_SEND, body or {"n": 1}, "Web", "10.0.0.1")


def answering(*parts: bytes, close: bool = False) -> Callable[[int, asyncio.StreamWriter], Awaitable[None]]:
    async def answer(_: int, writer: asyncio.StreamWriter) -> None:
        for part in parts:
            writer.write(part)
            await writer.drain()
        if close:
            writer.close()

    return answer


# ---- choosing the client -----------------------------------------------------------------------------
def test_plain_http_urls_reached_directly_get_the_plain_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert plain_endpoint("http://example.com/im?x=1") == ("example.com", 80, "/im?x=1")
    assert plain_endpoint("http://127.0.0.1:8080") == ("127.0.0.1", 8080, "/")
    assert plain_endpoint("HTTP://[::1]:81/cb") == ("::1", 81, "/cb")
    assert plain_endpoint("https://example.com/im") is None  # TLS: httpx
    assert plain_endpoint("http://user:pw@example.com/im") is None  # credentials: httpx sends them
    assert plain_endpoint("http://example.com:notaport/im") is None
    assert plain_endpoint("http://example.com/déjà vu") is None  # httpx percent-encodes it
    assert plain_endpoint("http://bücher.example/im") is None  # and IDNA-encodes the host
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert plain_endpoint("http://example.com/im") is None  # httpx goes through the proxy
    monkeypatch.setenv("NO_PROXY", "example.com")
    assert plain_endpoint("http://example.com/im") == ("example.com", 80, "/im")
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("ALL_PROXY", "socks5://proxy.internal:1080")
    assert plain_endpoint("http://other.example/im") is None


async def test_the_endpoint_sees_the_same_request_from_either_client() -> None:
    """Query string (Sign included), method, path, body and content type: what a callback receiver
    sees does not depend on which client sent it."""
    receiver = CallbackReceiver()
    await receiver.start()
    clock = ManualClock()
    body = {"CallbackCommand": wire.C2C_AFTER_SEND, "Text": "héllo", "N": [1, 2]}
    plain = CallbackSender(receiver.url + "?tag=a", TOKEN, SDKAPPID, clock, 2.0)
    viahttpx = CallbackSender(receiver.url + "?tag=a", TOKEN, SDKAPPID, clock, 2.0, client=httpx.AsyncClient())
    try:
        assert plain._plain is not None
        assert viahttpx._plain is None
        for sender in (plain, viahttpx):
            assert await sender.post(wire.C2C_AFTER_SEND, body, "Web", "10.0.0.1") == {
                "ActionStatus": "OK",
                "ErrorInfo": "",
                "ErrorCode": 0,
            }
        first, second = receiver.received
        assert first.raw_query == second.raw_query
        assert first.body == second.body == body
        params = first.params
        assert (params["tag"], params["SdkAppid"], params["CallbackCommand"]) == (
            "a",
            str(SDKAPPID),
            wire.C2C_AFTER_SEND,
        )
        assert verify_callback_sign(TOKEN, params["Sign"], params["RequestTime"], clock.now())
    finally:
        await plain.aclose()
        await viahttpx.aclose()
        await receiver.stop()


# ---- keep-alive -------------------------------------------------------------------------------------
async def test_connections_are_kept_alive_and_reused() -> None:
    async with raw_endpoint(answering(response(OK))) as endpoint:
        sender = sender_for(endpoint.port)
        for n in range(5):
            assert (await post(sender, {"n": n}))["ErrorCode"] == 0
        await sender.aclose()
    assert endpoint.connections == 1
    assert [orjson.loads(body)["n"] for _, body in endpoint.requests] == [0, 1, 2, 3, 4]
    head = endpoint.requests[0][0].decode()
    assert head.startswith("POST /im/callback?SdkAppid=")
    assert f"\r\nHost: 127.0.0.1:{endpoint.port}\r\n" in head
    assert "\r\nContent-Type: application/json\r\n" in head


async def test_a_kept_alive_connection_the_endpoint_closed_is_replaced_once() -> None:
    """The endpoint answers each request and then closes the connection (as servers drop idle ones):
    the next POST finds it closed (or fails on it before any answer) and goes out on a new one."""
    async with raw_endpoint(answering(response(OK), close=True)) as endpoint:
        sender = sender_for(endpoint.port)
        for n in range(3):
            assert (await post(sender, {"n": n}))["ErrorCode"] == 0
        await sender.aclose()
    assert endpoint.connections == 3
    assert len(endpoint.requests) == 3


async def test_a_reused_connection_closed_before_any_answer_is_retried_on_a_fresh_one() -> None:
    """A request written on a kept-alive connection the endpoint closes without answering (a race
    with its idle timeout) goes once more, on a new connection: the endpoint sees it twice."""

    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        if n == 2:  # the second request, on the kept-alive connection: closed unanswered
            writer.close()
            return
        writer.write(response(OK))
        await writer.drain()

    async with raw_endpoint(answer) as endpoint:
        sender = sender_for(endpoint.port)
        assert (await post(sender, {"n": 1}))["ErrorCode"] == 0
        assert (await post(sender, {"n": 2}))["ErrorCode"] == 0
        await sender.aclose()
    assert endpoint.connections == 2
    assert [orjson.loads(body)["n"] for _, body in endpoint.requests] == [1, 2, 2]


async def test_a_fresh_connection_closed_before_the_answer_is_not_retried() -> None:
    async def answer(_: int, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with raw_endpoint(answer) as endpoint:
        sender = sender_for(endpoint.port)
        with pytest.raises(CallbackUnavailable, match="closed before the answer"):
            await post(sender)
        await sender.aclose()
    assert len(endpoint.requests) == 1


async def test_connections_are_bounded_and_requests_wait_for_one() -> None:
    async def answer(_: int, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(response(OK))
        await writer.drain()

    async with raw_endpoint(answer) as endpoint:
        client = PlainHTTPClient("127.0.0.1", endpoint.port, max_connections=2)
        answers = await asyncio.gather(*(client.post("/cb", b"{}") for _ in range(6)))
        await client.aclose()
    assert [a.status for a in answers] == [200] * 6
    assert endpoint.most_open == 2
    assert endpoint.connections == 2


# ---- answers ------------------------------------------------------------------------------------------
async def test_a_chunked_answer_is_read_and_the_connection_kept() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n",
        b"10\r\n" + OK[:16] + b"\r\n",
        hex(len(OK) - 16)[2:].encode() + b"\r\n" + OK[16:] + b"\r\n",
        b"0\r\n\r\n",
    )
    async with raw_endpoint(answering(*chunked)) as endpoint:
        sender = sender_for(endpoint.port)
        for _ in range(2):
            assert await post(sender) == orjson.loads(OK)
        await sender.aclose()
    assert endpoint.connections == 1


async def test_an_answer_read_until_the_endpoint_closes() -> None:
    until_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + OK
    async with raw_endpoint(answering(until_close, close=True)) as endpoint:
        sender = sender_for(endpoint.port)
        assert await post(sender) == orjson.loads(OK)
        assert await post(sender) == orjson.loads(OK)
        await sender.aclose()
    assert endpoint.connections == 2  # "Connection: close": never reused


async def test_a_gzip_answer_is_decoded() -> None:
    packed = gzip.compress(OK)
    async with raw_endpoint(answering(response(packed, extra=b"Content-Encoding: gzip\r\n"))) as endpoint:
        sender = sender_for(endpoint.port)
        assert await post(sender) == orjson.loads(OK)
        await sender.aclose()


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        ("500 Internal Server Error", CallbackUnavailable),
        ("503 Service Unavailable", CallbackUnavailable),
        ("429 Too Many Requests", CallbackUnavailable),
        ("404 Not Found", CallbackRejected),
        ("302 Found", CallbackRejected),
    ],
)
async def test_answers_other_than_200_fail_as_with_httpx(status: str, raised: type[Exception]) -> None:
    async with raw_endpoint(answering(response(OK, status))) as endpoint:
        sender = sender_for(endpoint.port)
        with pytest.raises(raised, match=f"HTTP {status[:3]}"):
            await post(sender)
        # the connection stays usable after a complete answer of any status
        with pytest.raises(raised):
            await post(sender)
        await sender.aclose()
    assert endpoint.connections == 1


@pytest.mark.parametrize(
    ("body", "says"), [(b"hello", "not JSON"), (b"[1, 2]", "not a JSON object"), (b"", "not JSON")]
)
async def test_answers_that_are_not_a_json_object_are_rejected(body: bytes, says: str) -> None:
    async with raw_endpoint(answering(response(body))) as endpoint:
        sender = sender_for(endpoint.port)
        with pytest.raises(CallbackRejected, match=says):
            await post(sender)
        await sender.aclose()


async def test_a_malformed_answer_is_unavailable() -> None:
    async with raw_endpoint(answering(b"NOT HTTP AT ALL\r\n\r\n")) as endpoint:
        sender = sender_for(endpoint.port)
        with pytest.raises(CallbackUnavailable, match="malformed"):
            await post(sender)
        await sender.aclose()


async def test_an_answer_past_the_size_limit_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plain_http, "ANSWER_MAX_BYTES", 100)
    big = b'{"ErrorCode": 0, "Pad": "' + b"x" * 200 + b'"}'
    async with raw_endpoint(answering(response(big))) as endpoint:
        sender = sender_for(endpoint.port)
        with pytest.raises(CallbackUnavailable, match="over 100 bytes"):
            await post(sender)
        await sender.aclose()


async def test_connections_idle_too_long_are_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plain_http, "IDLE_SECONDS", 0.0)
    async with raw_endpoint(answering(response(OK))) as endpoint:
        sender = sender_for(endpoint.port)
        for _ in range(3):
            assert (await post(sender))["ErrorCode"] == 0
        await sender.aclose()
    assert endpoint.connections == 3


# ---- failures -----------------------------------------------------------------------------------------
async def test_an_endpoint_that_hangs_times_out_and_its_connection_is_dropped() -> None:
    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        if n == 1:
            await asyncio.Event().wait()  # never answers (the handler is cancelled at the end)
        writer.write(response(OK))
        await writer.drain()

    async with raw_endpoint(answer) as endpoint:
        sender = sender_for(endpoint.port, timeout=0.3)
        with pytest.raises(CallbackUnavailable, match="TimeoutError"):
            await post(sender)
        assert (await post(sender))["ErrorCode"] == 0  # on a new connection: the hung one is not reused
        await sender.aclose()
    assert endpoint.connections == 2


async def test_a_refused_connection_is_unavailable() -> None:
    async with raw_endpoint(answering(response(OK))) as endpoint:
        port = endpoint.port
    sender = sender_for(port)  # nothing listens there any more
    with pytest.raises(CallbackUnavailable, match="PlainHTTPError"):
        await post(sender)
    await sender.aclose()


async def test_a_slow_receiver_answer_through_uvicorn() -> None:
    """Against uvicorn (the callback receiver): a delayed answer within the timeout, a 500, then a
    good answer again, all on kept-alive connections."""
    receiver = CallbackReceiver()
    await receiver.start()
    replies = iter([Reply(delay=0.05), Reply(status=500), Reply()])
    receiver.decide = lambda _: next(replies)
    sender = CallbackSender(receiver.url, TOKEN, SDKAPPID, ManualClock(), 2.0)
    try:
        assert (await post(sender))["ErrorCode"] == 0
        with pytest.raises(CallbackUnavailable, match="HTTP 500"):
            await post(sender)
        assert (await post(sender))["ErrorCode"] == 0
    finally:
        await sender.aclose()
        await receiver.stop()
    assert len(receiver.received) == 3


async def test_plain_http_error_names_the_failure() -> None:
    client = PlainHTTPClient("127.0.0.1", 9, max_connections=1)
    with pytest.raises(PlainHTTPError, match="cannot connect"):
        await client.post("/", b"{}")
    await client.aclose()


def test_the_client_on_uvloop() -> None:
    """`imql serve` runs on uvloop (uvicorn's standard loop), whose transports are its own: keep-alive,
    a chunked answer, a connection the endpoint closes, a refusal and a timeout there too."""
    import uvloop

    async def scenario() -> None:
        chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + hex(len(OK))[2:].encode() + b"\r\n"
        async with raw_endpoint(answering(chunked + OK + b"\r\n0\r\n\r\n")) as endpoint:
            sender = sender_for(endpoint.port)
            for _ in range(3):
                assert await post(sender) == orjson.loads(OK)
            await sender.aclose()
        assert endpoint.connections == 1
        async with raw_endpoint(answering(response(OK), close=True)) as endpoint:
            sender = sender_for(endpoint.port)
            for _ in range(2):
                assert await post(sender) == orjson.loads(OK)
            await sender.aclose()
        assert endpoint.connections == 2

        async def hang(_: int, writer: asyncio.StreamWriter) -> None:
            await asyncio.Event().wait()

        async with raw_endpoint(hang) as endpoint:
            sender = sender_for(endpoint.port, timeout=0.2)
            with pytest.raises(CallbackUnavailable, match="TimeoutError"):
                await post(sender)
            await sender.aclose()
        with pytest.raises(CallbackUnavailable, match="cannot connect"):
            await post(sender_for(endpoint.port))

    uvloop.run(scenario())
