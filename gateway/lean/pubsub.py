"""The dispatcher's pub/sub replies read with less Python per poke.

Each message sent reaches its receiver's gateway as one pub/sub message (a poke), read by
redis-py's `PubSub.get_message`: a health check, a retry wrapper, a read with a timeout context,
an operation-duration record, then the reply's dict. In-process, a poke published and read that
way cost ~52-66 µs of CPU, and ~41-48 µs read as below (5,000 pokes, 2026-12-08); in the bench's
one-request C2C load the gateway's CPU per message went from ~0.85 to ~0.83 ms.

`LeanPubSubReader` takes the connection's replies straight from hiredis's buffer
(gateway.lean.redis.HiredisReplies), reading the socket only when no whole reply is buffered, and
answers a published message as a (type, channel, data) tuple. Every other reply (subscribe and
unsubscribe confirmations) goes through redis-py's `handle_message`, which keeps its record of
the subscribed channels; a health check's answer is dropped, as `parse_response` drops it.
Its reads block without a timeout: the caller does the periodic work (the dispatcher's sweep, and
`PubSub.check_health`, whose PING the reader's next read answers) in a task of its own.

Only redis-py's own `PubSub` on a connection of gateway.lean.redis's classes with the hiredis
parser is read this way (`LeanPubSubReader.of`); a cluster's sharded pub/sub, fakeredis or
another parser keeps redis-py's `get_message`. What is skipped for a published message: redis-py's
per-channel handlers (imql subscribes without any) and its observability records (imql does not
configure redis-py's). Private redis-py names used (checked by tests/test_upstream_contract.py):
the connection's `_parser` (`_AsyncHiredisParser`: `_connected`, `read_from_socket()`),
`PubSub.handle_message(response, ignore_subscribe_messages)` and `PubSub.health_check_response`.
"""

from __future__ import annotations

from typing import Any

from redis._parsers.hiredis import _AsyncHiredisParser
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from gateway.lean.redis import NOT_BUFFERED, BrokenReply, HiredisReplies, PushFirst

# (type, channel, data): "message" for a published message, else redis-py's message type
PubSubMessage = tuple[str, Any, Any]


class LeanPubSubReader:
    """Reads one subscribed PubSub's replies (`of` says whether it can)."""

    __slots__ = ("_connection", "_pubsub")

    def __init__(self, pubsub: PubSub, connection: Any) -> None:
        self._pubsub = pubsub
        self._connection = connection

    @classmethod
    def of(cls, pubsub: Any) -> LeanPubSubReader | None:
        """A reader of `pubsub`'s connection, or None: read it with `get_message`."""
        if type(pubsub) is not PubSub:
            return None
        connection = pubsub.connection
        if not isinstance(connection, HiredisReplies) or type(getattr(connection, "_parser", None)) is not (
            _AsyncHiredisParser
        ):
            return None
        return cls(pubsub, connection)

    async def read(self) -> PubSubMessage | None:
        """The next reply, waiting for it as long as it takes; None for a reply that is no message
        for the caller (redis-py's handle_message dropped it). Raises redis-py's ConnectionError
        when the connection is closed or breaks, as `get_message` does."""
        connection = self._connection
        reply = connection.buffered_reply()
        while reply is NOT_BUFFERED:
            parser = connection._parser
            if not parser._connected:
                raise RedisConnectionError("the pub/sub connection is closed")
            await parser.read_from_socket()  # a whole reply may take several reads
            reply = connection.buffered_reply()
        if isinstance(reply, BrokenReply):  # what read_response does with it: disconnect, raise
            await connection.disconnect(nowait=True)
            raise reply.error
        if isinstance(reply, PushFirst):  # RESP3: a published message is a push
            reply = reply.push
        if isinstance(reply, ResponseError):
            raise reply
        if type(reply) is list and len(reply) == 3 and reply[0] == "message":
            return ("message", reply[1], reply[2])
        pubsub: Any = self._pubsub
        if reply in pubsub.health_check_response:  # a health check's answer: dropped, as parse_response does
            return None
        handle: Any = pubsub.handle_message  # (untyped in redis-py)
        message = await handle(reply, ignore_subscribe_messages=False)
        if not message:
            return None
        return (str(message.get("type")), message.get("channel"), message.get("data"))
