"""The REST v4 client of the Tencent Cloud backend: every call imql makes to Tencent goes here.

`POST <IMQL_TENCENT_API_URL>/v4/<service>/<command>?sdkappid=&identifier=<admin>&usersig=&random=
&contenttype=json` with a JSON object body (`{}` when there is nothing to send), as MAPPING.md
section 2 and FIXTURES.md A1/A3 describe. One `TencentRestClient` per process (the composition
root builds it), holding one pooled `httpx.AsyncClient`: keep-alive connections are reused across
calls and endpoints.

- **Admin UserSig**: minted with the app's secret key (`gateway.usersig.mint`) for
  `ADMIN_SIG_LIFETIME_SECONDS` and minted again once half of that has passed, so a sig in use
  always has hours left (and clock skew with Tencent of up to that much is harmless); a sig
  refusal from Tencent drops it, and the next call mints a fresh one.
- **Answers**: HTTP 200 with Tencent's envelope. `ErrorCode != 0` raises `IMError` with the code
  mapped by `gateway.tencent.errors` and Tencent's code and ErrorInfo in `desc`. `OK` and
  `SomeError` (batchsendmsg's partial failure) return an `Answer`; per-item results are the
  caller's, read with its helpers (`result_items`, `error_list`, `fail_accounts`, `item_errors`).
- **Timeouts**: each attempt has `DEFAULT_TIMEOUT_SECONDS` all told (above Tencent's own 3 s;
  IMQL_TENCENT_TIMEOUT), then 7012 naming the endpoint. Never a hang.
- **Retries**: only calls marked `idempotent` (reads, and writes that set a state rather than add
  one) are sent again, on network errors, timeouts, HTTP 5xx, and Tencent's frequency codes (plus
  its own 60008 timeout), after a jittered exponential back-off. A send is idempotent only when
  it carries Tencent's de-duplication key, which this client checks (`dedupe_key_missing`):
  Tencent drops a repeated C2C message with the same sender, MsgSeq, MsgRandom and content for
  120 s, and a repeated group message with the same Random for 5 min (MAPPING.md #32), so a
  resend of the same body cannot deliver twice. `batchsendmsg` is never retried (no such
  guarantee is documented).
- **Rate limits**: an `EndpointLimiter` (gateway.tencent.limits) is asked before each request.
- **Metrics**: calls, errors by cause, retries and latency per endpoint (gateway.metrics).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.digits import parse_integer
from gateway.errors import Code, IMError
from gateway.metrics import Metrics
from gateway.tencent.errors import RETRYABLE_CODES, SIG_CODES, TencentError, tencent_error
from gateway.tencent.limits import EndpointLimiter
from gateway.usersig import mint

log = logging.getLogger("imql.tencent")

# Tencent's server gives up after 3 s; an attempt gets 5 s all told (connect, send, wait, read).
DEFAULT_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 3.0
# Pooled connections: at ~50 ms a call, 200 calls/s on one endpoint keep ~10 busy; the pool serves
# every endpoint at once. A call that finds all busy waits for one (within its timeout).
MAX_CONNECTIONS = 100
MAX_KEEPALIVE_CONNECTIONS = 50
KEEPALIVE_EXPIRY_SECONDS = 30.0
# Attempts per idempotent call, and the back-off before attempt n+1: BACKOFF_SECONDS * 2**(n-1),
# stretched by up to a quarter at random so replicas that failed together do not retry together.
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 0.25
BACKOFF_JITTER = 0.25
# The admin sig: minted for a day and renewed after half of it (a sig rides in every URL, where
# proxies may log it, so it should not live the libraries' default 180 days).
ADMIN_SIG_LIFETIME_SECONDS = 86_400
ADMIN_SIG_RENEW_AFTER_SECONDS = ADMIN_SIG_LIFETIME_SECONDS // 2

_ENDPOINT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/[A-Za-z][A-Za-z0-9_]*$")  # e.g. ConfigSvc/GetIPList
# sends that Tencent de-duplicates, and the body fields that make up the key
DEDUPE_KEYS: dict[str, tuple[str, ...]] = {
    "openim/sendmsg": ("MsgRandom", "MsgSeq"),
    "group_open_http_svc/send_group_msg": ("Random",),
}
NEVER_RETRIED = frozenset({"openim/batchsendmsg"})


def dedupe_key_missing(endpoint: str, body: Mapping[str, Any]) -> str | None:
    """Why a resend of this call could deliver twice, or None when it is safe to send again."""
    if endpoint in NEVER_RETRIED:
        return f"{endpoint} has no documented de-duplication"
    missing = [name for name in DEDUPE_KEYS.get(endpoint, ()) if body.get(name) is None]
    if missing:
        return f"{endpoint} without {', '.join(missing)} is not de-duplicated by Tencent"
    return None


@dataclass(frozen=True)
class ItemError:
    """One failed item of a batch answer: whose it is, and the mapped error."""

    key: str
    error: IMError


@dataclass(frozen=True)
class Answer:
    """A decoded answer whose envelope says OK (or SomeError): the whole JSON object in `body`."""

    endpoint: str
    body: dict[str, Any] = field(repr=False)

    @property
    def status(self) -> str:
        return str(self.body.get("ActionStatus", ""))

    @property
    def partial(self) -> bool:
        """batchsendmsg's "SomeError": the call ran, some recipients failed (see `error_list`)."""
        return self.status == "SomeError"

    @property
    def error_display(self) -> str:
        return str(self.body.get("ErrorDisplay") or "")

    def __getitem__(self, name: str) -> Any:
        return self.body[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default)

    def _objects(self, name: str) -> list[dict[str, Any]]:
        value = self.body.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise bad_answer(self.endpoint, f"{name} is not a list of objects")
        return value

    def result_items(self, name: str = "ResultItem") -> list[dict[str, Any]]:
        """Per-item results (`ResultItem`, `UserProfileItem`, `MemberList`, ...), each an object."""
        return self._objects(name)

    def error_list(self) -> list[dict[str, Any]]:
        """`ErrorList` items (batchsendmsg: `{To_Account, ErrorCode}`)."""
        return self._objects("ErrorList")

    def fail_accounts(self) -> list[str]:
        """`Fail_Account`: accounts the call could not act on (import, friend and group batches)."""
        value = self.body.get("Fail_Account") or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_answer(self.endpoint, "Fail_Account is not a list of strings")
        return value

    def item_errors(
        self,
        name: str = "ResultItem",
        *,
        key: str = "UserID",
        code_field: str = "ResultCode",
        info_field: str = "ResultInfo",
        ok_codes: frozenset[int] = frozenset({0}),
    ) -> Iterator[ItemError]:
        """The failed items of `name`, each with its mapped IMError (ErrorList: code_field="ErrorCode")."""
        for item in self._objects(name):
            code = _as_code(item.get(code_field, 0))
            if code is None:
                raise bad_answer(self.endpoint, f"{name}[].{code_field} is not an integer")
            if code in ok_codes:
                continue
            info = str(item.get(info_field) or item.get("ErrorInfo") or "")
            yield ItemError(str(item.get(key, "")), tencent_error(code, info, self.endpoint))


def _as_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return parse_integer(value)
    return None


def bad_answer(endpoint: str, why: str) -> TencentError:
    """An answer without what its endpoint documents (a caller that reads a field finds it missing)."""
    return _internal(endpoint, f"tencent ({endpoint}) answered something unreadable: {why}", "bad_answer")


def _internal(endpoint: str, desc: str, cause: str) -> TencentError:
    return TencentError(Code.ERR_SDK_INTERNAL_ERROR, desc, endpoint=endpoint, cause=cause)


class _Retry(Exception):
    """An attempt failed in a way a resend may fix; `error` is what the caller gets if none does."""

    def __init__(self, error: TencentError) -> None:
        super().__init__(error.desc)
        self.error = error


class TencentRestClient:
    def __init__(
        self,
        *,
        sdkappid: int,
        secret_key: str,
        api_url: str = "https://console.tim.qq.com",
        admin: str = "administrator",
        limiter: EndpointLimiter | None = None,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_seconds: float = BACKOFF_SECONDS,
    ) -> None:
        self.sdkappid = sdkappid
        self.admin = admin
        self.api_url = api_url.rstrip("/")
        self._secret_key = secret_key
        self._limiter = limiter
        self._clock: Clock = clock or SystemClock()
        self._metrics = metrics
        self._timeout = timeout_seconds
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff_seconds
        self._sig: str | None = None
        self._sig_renew_at = 0.0
        self.http = httpx.AsyncClient(
            base_url=self.api_url,
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)),
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS,
                max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
                keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
            ),
            headers={"Content-Type": "application/json"},
            follow_redirects=False,
            # HTTPS_PROXY / NO_PROXY are honoured: an app whose console allowlists source IPs
            # (60021 otherwise) often sends its REST calls out through a fixed-address proxy
            trust_env=True,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        limiter: EndpointLimiter | None = None,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float | None = None,
    ) -> TencentRestClient:
        """`timeout_seconds`: this client's, else the settings' (IMQL_TENCENT_TIMEOUT)."""
        return cls(
            sdkappid=settings.sdkappid,
            secret_key=settings.secret_key,
            api_url=settings.tencent_api_url,
            admin=settings.tencent_admin,
            limiter=limiter,
            clock=clock,
            metrics=metrics,
            transport=transport,
            timeout_seconds=settings.tencent_timeout_seconds if timeout_seconds is None else timeout_seconds,
            backoff_seconds=settings.tencent_retry_backoff_seconds,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    # ---- the admin sig ----------------------------------------------------------------------------
    def admin_sig(self) -> str:
        """The admin's UserSig, minted again once half its lifetime has passed."""
        now = self._clock.now()
        if self._sig is None or now >= self._sig_renew_at:
            issued = int(now)
            self._sig = mint(self.sdkappid, self._secret_key, self.admin, now=issued, expire=ADMIN_SIG_LIFETIME_SECONDS)
            self._sig_renew_at = issued + ADMIN_SIG_RENEW_AFTER_SECONDS
        return self._sig

    def _params(self) -> list[tuple[str, str | int | float | bool | None]]:
        # Tencent's order (MAPPING.md section 2); random is a fresh uint32 per request
        return [
            ("sdkappid", str(self.sdkappid)),
            ("identifier", self.admin),
            ("usersig", self.admin_sig()),
            ("random", str(secrets.randbits(32))),
            ("contenttype", "json"),
        ]

    # ---- calls ------------------------------------------------------------------------------------
    async def call(self, endpoint: str, body: Mapping[str, Any] | None = None, *, idempotent: bool = False) -> Answer:
        """POST `body` to /v4/`endpoint`; the decoded answer, or IMError with the mapped code.

        `idempotent`: the call may be sent again after a failure that leaves its outcome unknown
        (reads, and writes that set a state); refused for sends without their de-duplication key.
        """
        if not _ENDPOINT.match(endpoint):
            raise ValueError(f"not a REST v4 endpoint: {endpoint!r} (service/command)")
        payload: Mapping[str, Any] = body if body is not None else {}
        if idempotent:
            unsafe = dedupe_key_missing(endpoint, payload)
            if unsafe is not None:
                log.warning("not retrying %s: %s", endpoint, unsafe)
                idempotent = False
        content = orjson.dumps(payload)
        label = self._metrics.tencent_endpoint_label(endpoint) if self._metrics else endpoint
        if self._metrics:
            self._metrics.tencent_calls.labels(endpoint=label).inc()
        started = time.perf_counter()
        try:
            return await self._attempts(endpoint, content, idempotent, label)
        finally:
            if self._metrics:
                self._metrics.tencent_latency.labels(endpoint=label).observe(time.perf_counter() - started)

    async def _attempts(self, endpoint: str, content: bytes, idempotent: bool, label: str) -> Answer:
        attempts = self._max_attempts if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                if self._limiter is not None:
                    await self._limiter.acquire(endpoint)
                return await self._attempt(endpoint, content)
            except _Retry as failed:
                self._count_error(label, failed.error.cause)
                if attempt == attempts:
                    raise failed.error from None
                if self._metrics:
                    self._metrics.tencent_retries.labels(endpoint=label).inc()
                delay = self._backoff * 2 ** (attempt - 1) * (1 + BACKOFF_JITTER * secrets.randbelow(1001) / 1000)
                log.info("retrying %s in %.2f s: %s", endpoint, delay, failed.error.desc)
                await self._clock.sleep_until(self._clock.now() + delay)
            except TencentError as exc:
                self._count_error(label, exc.cause)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _count_error(self, label: str, cause: str) -> None:
        if self._metrics:
            self._metrics.tencent_errors.labels(endpoint=label, code=cause).inc()

    async def _attempt(self, endpoint: str, content: bytes) -> Answer:
        path = f"/v4/{endpoint}"
        try:
            async with asyncio.timeout(self._timeout):
                response = await self.http.post(path, params=self._params(), content=content)
        except (TimeoutError, httpx.TimeoutException):
            desc = f"tencent ({endpoint}) did not answer within {self._timeout:g} s; the call's outcome is unknown"
            raise _Retry(_internal(endpoint, desc, "timeout")) from None
        except httpx.TransportError as exc:
            desc = f"tencent ({endpoint}) cannot be reached at {self.api_url}: {type(exc).__name__} {exc}"
            raise _Retry(_internal(endpoint, desc, "network")) from None
        status = response.status_code
        if status != 200:
            error = _internal(endpoint, f"tencent ({endpoint}) answered HTTP {status}", f"http_{status}")
            if status >= 500:
                raise _Retry(error)
            raise error
        return self._decode(endpoint, response.content)

    def _decode(self, endpoint: str, raw: bytes) -> Answer:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise bad_answer(endpoint, "not JSON") from None
        if not isinstance(body, dict):
            raise bad_answer(endpoint, "not a JSON object")
        status = body.get("ActionStatus")
        code = _as_code(body.get("ErrorCode", 0))
        if code is None:
            raise bad_answer(endpoint, "ErrorCode is not an integer")
        info = str(body.get("ErrorInfo") or "")
        if code != 0:
            if code in SIG_CODES:
                self._sig = None  # mint a fresh one next time
            error = tencent_error(code, info, endpoint)
            if code in RETRYABLE_CODES:
                raise _Retry(error)
            raise error
        if status not in ("OK", "SomeError"):
            raise bad_answer(endpoint, f"ActionStatus {status!r} with ErrorCode 0")
        return Answer(endpoint, body)


CHECK_ENDPOINT = "im_open_login_svc/account_check"


async def check_tencent_api(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_seconds: float | None = None,
    clock: Clock | None = None,
) -> str:
    """One cheap call (account_check of the admin) to see that Tencent's API answers this app's
    admin: "" when it does, else a sentence saying what is wrong, for `imql serve` and /readyz."""
    client = TencentRestClient.from_settings(
        settings, transport=transport, timeout_seconds=timeout_seconds, clock=clock
    )
    where = f"Tencent's REST API at {client.api_url} (IMQL_TENCENT_API_URL)"
    try:
        # an answer at all proves the URL, the SDKAppID, the key and the admin (60010 otherwise)
        await client.call(CHECK_ENDPOINT, {"CheckItem": [{"UserID": settings.tencent_admin}]}, idempotent=True)
        return ""
    except TencentError as exc:
        if exc.tencent_code is not None:
            return (
                f"{where} refused the admin {settings.tencent_admin!r} of SDKAppID {settings.sdkappid}: {exc.desc}; "
                "check IMQL_SDKAPPID, IMQL_SECRET_KEY and IMQL_TENCENT_ADMIN against the console"
            )
        return f"{where} does not answer: {exc.desc}"
    finally:
        await client.aclose()
