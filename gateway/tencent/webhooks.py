"""`POST <IMQL_TENCENT_CALLBACK_PATH>` (default `/tencent/callback`): Tencent's webhooks come in here.

Mounted (gateway.web.app) only while IMQL_TENCENT_CALLBACK_TOKEN is set: Tencent signs every callback
with the console's token, and an endpoint that cannot check the sign must not exist. (That is also
what lets tests run it before the Tencent backend exists.)

Each request is checked (MAPPING.md section 5), cheapest first, and nothing is stored or queued for
one that fails:
- `SdkAppid` in the query is ours,                                      else 403, 60006
- `Sign`/`RequestTime` are there, RequestTime within REPLAY_WINDOW_SECONDS of our clock (either way)
  and Sign == sha256(token + RequestTime), compared in constant time,   else 401, 60004
- the body is at most MAX_CALLBACK_BODY_BYTES of one JSON object,      else 413 / 400, 60002 / 60003
- its `CallbackCommand` equals the query's,                             else 400, 60002
Refusals are HTTP 4xx with a FAIL envelope, never HTTP 200: Tencent acts on the content of a 200
answer to a before-callback (ErrorCode 1 refuses the user's send), so a genuine callback that fails
a check because of a misconfigured token must not be able to block a native user's action; any
non-200 is "the callback failed" to Tencent, which then follows the console's timeout policy. And a
forged request must not look accepted to whoever sent it.

An accepted callback is answered `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}` at once (the
before-friend callbacks also get a ResultItem allowing every item): the work happens afterwards, on
the `tencent_inbound_queue` stream that gateway.tencent.inbound's workers read. Queueing and
de-duplication are one Lua call, one round trip: the delivery's identity is claimed with SET NX EX
and the entry is appended only when the claim is new, so a retried delivery (Tencent retries after-
callbacks on timeout when the console says so) is answered OK and queued once. Identities:
- C2C sends (before/after) and recalls: command + MsgKey + From_Account + To_Account
- group sends (after) and recalls: command + GroupId + TopicId + MsgSeq (every MsgSeq of a recall)
- everything else (modifications and extensions too, which may repeat for one message; group before-
  sends, which have no MsgSeq yet): command + a hash of the body, EventTime included
An identity is kept DEDUPE_TTL_SECONDS; a body-hash identity of a body without EventTime only
UNTIMED_DEDUPE_TTL_SECONDS, so that a friend deleted and added again soon after (same body, no time
in it) is not mistaken for a retry of the first add.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from gateway.clock import Clock
from gateway.digits import is_digits
from gateway.keys import Keys
from gateway.v4 import callbacks as wire
from gateway.v4 import envelope
from gateway.v4.signing import REPLAY_WINDOW_SECONDS, verify_callback_sign

log = logging.getLogger("imql.tencent")

# Tencent's largest callback bodies are group lists (a destroyed group's MemberList); far below this.
MAX_CALLBACK_BODY_BYTES = 1024 * 1024
# Tencent retries an after-callback within seconds of its 2 s timeout; ten minutes covers every retry
# with a wide margin and keeps at most ten minutes of small keys (~100 bytes each) in Redis.
DEDUPE_TTL_SECONDS = 600
UNTIMED_DEDUPE_TTL_SECONDS = 60
QUEUE_MAX = 100_000  # callbacks kept while no worker reads (approximate trim): a backlog, not a leak

OK_ANSWER = envelope.ok()

# KEYS: the identity's key, the queue. ARGV: its TTL, the queue's cap, then the entry's fields.
_ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
  return 1
end
return 0
"""


class Refused(Exception):
    """A callback that is not accepted: the HTTP status and the FAIL envelope to answer."""

    def __init__(self, status: int, code: int, info: str) -> None:
        super().__init__(info)
        self.status = status
        self.answer = envelope.fail(code, info)


def delivery_identity(command: str, body: dict[str, Any]) -> tuple[str, int]:
    """What makes two deliveries the same callback, and how long to remember it (seconds)."""
    if command in (wire.C2C_BEFORE_SEND, wire.C2C_AFTER_SEND, wire.C2C_AFTER_WITHDRAW):
        key = body.get("MsgKey")
        if isinstance(key, str) and key:
            parts = [command, key, str(body.get("From_Account", "")), str(body.get("To_Account", ""))]
            return orjson.dumps(parts).decode(), DEDUPE_TTL_SECONDS
    if command in (wire.GROUP_AFTER_SEND, wire.GROUP_AFTER_RECALL):
        if command == wire.GROUP_AFTER_SEND:
            seqs = [body.get("MsgSeq")]
        else:
            listed = body.get("MsgSeqList")
            seqs = [s.get("MsgSeq") for s in listed if isinstance(s, dict)] if isinstance(listed, list) else []
        if seqs and all(isinstance(s, int | str) for s in seqs):
            parts = [command, str(body.get("GroupId", "")), str(body.get("TopicId") or ""), *map(str, seqs)]
            return orjson.dumps(parts).decode(), DEDUPE_TTL_SECONDS
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    ttl = DEDUPE_TTL_SECONDS if body.get("EventTime") is not None else UNTIMED_DEDUPE_TTL_SECONDS
    return f"{command}|{hashlib.sha256(canonical).hexdigest()}", ttl


def _allow_all(body: dict[str, Any], items_field: str) -> dict[str, Any]:
    """The OK answer to a before-friend callback: every item allowed (ResultCode 0)."""
    items = body.get(items_field)
    accounts = [i.get("To_Account") for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return envelope.ok(
        {"ResultItem": [{"To_Account": a, "ResultCode": 0, "ResultInfo": ""} for a in accounts if isinstance(a, str)]}
    )


class WebhookReceiver:
    """Checks, de-duplicates and queues one callback; framework-free (`serve_callback` is the route)."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        clock: Clock,
        *,
        sdkappid: int,
        token: str,
        window_seconds: int = REPLAY_WINDOW_SECONDS,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._sdkappid = str(sdkappid)
        self._token = token
        self._window = window_seconds
        self._enqueue = redis.register_script(_ENQUEUE_ONCE)

    def check(self, params: Mapping[str, str], raw: bytes | None) -> tuple[str, dict[str, Any]]:
        """The callback's command and body, or Refused. `raw` None: the body was over the cap."""
        if params.get("SdkAppid", "") != self._sdkappid:
            raise Refused(403, envelope.SDKAPPID_INVALID, "SdkAppid is missing or is not this app's")
        sign, request_time = params.get("Sign", ""), params.get("RequestTime", "")
        if not sign or not request_time:
            raise Refused(401, envelope.ACCOUNT_OR_SIG_INVALID, "Sign and RequestTime are required")
        if not is_digits(request_time) or abs(self._clock.now() - int(request_time)) > self._window:
            raise Refused(401, envelope.ACCOUNT_OR_SIG_INVALID, "RequestTime is stale or not a unix time")
        if not verify_callback_sign(self._token, sign, request_time, self._clock.now(), self._window):
            raise Refused(401, envelope.ACCOUNT_OR_SIG_INVALID, "Sign does not match the callback token")
        if raw is None:
            raise Refused(413, envelope.HTTP_PARSE_FAILED, f"body over {MAX_CALLBACK_BODY_BYTES} bytes")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Refused(400, envelope.JSON_PARSE_FAILED, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise Refused(400, envelope.JSON_PARSE_FAILED, "the body is not a JSON object")
        command = params.get("CallbackCommand", "")
        if not command or body.get("CallbackCommand") != command:
            raise Refused(400, envelope.HTTP_PARSE_FAILED, "CallbackCommand differs between the query and the body")
        return command, body

    async def receive(self, params: Mapping[str, str], raw: bytes | None) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON answer for one callback request."""
        try:
            command, body = self.check(params, raw)
        except Refused as refused:
            log.warning("tencent callback refused (HTTP %d): %s", refused.status, refused)
            return refused.status, refused.answer
        identity, ttl = delivery_identity(command, body)
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        fields = ["cmd", command, "platform", params.get("OptPlatform", ""), "ip", params.get("ClientIP", "")]
        fields += ["body", orjson.dumps(body).decode()]
        try:
            queued = await self._enqueue(
                keys=[self._keys.tencent_inbound_seen(digest), self._keys.tencent_inbound_queue()],
                args=[ttl, QUEUE_MAX, *fields],
            )
        except (RedisError, OSError) as exc:
            # not stored: Tencent counts a non-200 as a failed callback (and retries one it may retry)
            log.warning("tencent callback %s not queued: %s", command, exc)
            return 503, envelope.fail(envelope.SERVER_INTERNAL, "the callback could not be queued")
        if not queued:
            log.info("tencent callback %s delivered again; queued once", command)
        if command == wire.PREV_FRIEND_ADD:
            return 200, _allow_all(body, "FriendItem")
        if command == "Sns.CallbackPrevFriendResponse":
            return 200, _allow_all(body, "ResponseFriendItem")
        return 200, OK_ANSWER


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None when it is over MAX_CALLBACK_BODY_BYTES (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if is_digits(declared) and int(declared) > MAX_CALLBACK_BODY_BYTES:
        return None
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_CALLBACK_BODY_BYTES:
            return None
    return raw


async def serve_callback(request: Request) -> Response:
    """The route: the gateway's WebhookReceiver (`Gateway.tencent_webhooks`) checks and queues."""
    receiver: WebhookReceiver = request.app.state.gateway.tencent_webhooks
    status, answer = await receiver.receive(request.query_params, await _read_capped(request))
    return Response(orjson.dumps(answer), status_code=status, media_type="application/json")
