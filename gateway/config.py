"""Configuration from the environment (CONTRACT §2); CLI flags override single fields.

Every limit and TTL the gateway enforces is a named field here or a named constant beside the code
that uses it, each with the reason for its value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from gateway.v4.callbacks import SUPPORTED_COMMANDS

# The development app: used when IMQL_SDKAPPID / IMQL_SECRET_KEY are unset. Anyone can read this
# key, so `imql serve` prints it with a warning; never run a public gateway on it.
DEV_SDKAPPID = 1400000000
DEV_SECRET_KEY = "imql-development-secret-key-do-not-use-in-production"  # noqa: S105

BACKENDS = ("embedded", "tencent")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the CLI prints it and exits."""


@dataclass(frozen=True)
class Settings:
    sdkappid: int = DEV_SDKAPPID
    secret_key: str = DEV_SECRET_KEY
    redis_url: str | None = None
    # IMQL_REDIS_CLUSTER: `redis_url` names one node of a Redis Cluster (gateway.lean.cluster); the
    # client finds the others, follows MOVED/ASK and re-reads the topology after a failover.
    redis_cluster: bool = False
    # IMQL_REDIS_WAIT_REPLICAS: an acknowledged send waits (WAIT) until this many replicas have its
    # writes, so a master that dies right after cannot take an acknowledged message with it; 0 does
    # not wait (Redis's asynchronous replication, docs/scaling.md says the loss window).
    redis_wait_replicas: int = 0
    backend: str = "embedded"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./.imql")
    # The gateway's address as the world reaches it (scheme://host[:port][/path], no query). Media
    # URLs handed out where no client request says where the gateway is (the app's callbacks, the
    # server API's answers, messages sent to Tencent) begin with it; unset, those are relative
    # (/media/...), which the app's own servers must resolve. Clients' URLs follow their request.
    public_url: str | None = None
    # Browser origins (normalized scheme://host[:port], or "*") allowed cross-origin: CORS on HTTP
    # and WebSocket handshakes alike (gateway.web.cors); the gateway's own origin always is.
    allowed_origins: tuple[str, ...] = ()
    # Per-user request budget on each replica: a token bucket refilled at `rate_limit_per_second`,
    # holding at most `rate_limit_burst`, so a page load's burst of queries passes and a loop is cut.
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    # A browser tab rarely needs more than one subscription per listener (6 listeners).
    max_subscriptions_per_connection: int = 32
    # Clients that open a socket and never say connection_init are dropped after this long.
    ws_init_timeout_seconds: float = 10.0
    # An HTTP GraphQL request that has not finished after this long is answered 504 (code 7012).
    # This is the bound on a stalled Redis: commands carry no timeout of their own (gateway.store).
    request_timeout_seconds: float = 30.0
    # Dead peers (pulled cables, sleeping phones) are found by WebSocket pings this often.
    ws_ping_interval_seconds: float = 20.0
    # permessage-deflate on WebSockets. Off by default: a connection that negotiates it (browsers
    # always offer it) holds zlib state of ~40 KB for its whole life, twice what an idle
    # subscription costs otherwise, to shrink event frames that are small JSON already.
    ws_compression: bool = False
    log_level: str = "info"
    # `imql serve --workers N`: a worker that does not answer uvicorn's supervisor within this long
    # is killed and replaced. uvicorn's 5 s killed live workers (and every connection they held,
    # which then reconnect onto the others) on a host merely overloaded (bench chatroom-fanout,
    # 50,000 members, load 15); a hung worker is rare, and found at 30 s all the same.
    worker_healthcheck_seconds: int = 30
    # Trusted-documents mode (IMQL_TRUSTED_DOCUMENTS, a persisted-query manifest): only these
    # (document ID, document) pairs run over HTTP; None runs any document (gateway.web.documents).
    trusted_documents: tuple[tuple[str, str], ...] | None = None
    # The app-level relation-chain check: when on, C2C messages need the receiver in the sender's
    # friend list (20009 otherwise), as Tencent's "check friendship before sending" console switch.
    friends_only: bool = False
    # The operator identity of the REST API (/v4/...), as Tencent's "App admin" account.
    admin_identifier: str = "administrator"
    # Groups idle this many days are recycled (onGroupRecycled); 0 keeps groups forever.
    group_recycle_days: int = 0
    # Messages older than this many days leave history, indexes and event logs (Tencent's roaming
    # days; gateway.engine.retention); 0 keeps them forever.
    message_retention_days: int = 0
    # Offline push: notifications for users with no app in the foreground are POSTed here as
    # signed JSON (gateway.push.sink); unset, offline push is off (setOfflinePushConfig still works).
    push_webhook_url: str | None = None
    push_webhook_secret: str | None = None
    # Tencent's third-party callbacks (gateway.engine.callbacks): POSTed to this URL, signed with
    # the token when one is set; unset, no callback is sent and no hook costs anything.
    callback_url: str | None = None
    callback_token: str | None = None
    # which callback commands are sent (IMQL_CALLBACK_COMMANDS, comma-separated); default all imql has
    callback_commands: frozenset[str] = SUPPORTED_COMMANDS
    # every callback request gets this long all told; Tencent's is 2 s for before-callbacks
    callback_timeout_seconds: float = 2.0
    # a before-callback that fails (timeout, error, bad answer) lets the action through ("open",
    # Tencent's default) or refuses it ("closed")
    callback_fail_closed: bool = False
    # The Tencent Cloud backend (IMQL_BACKEND=tencent, gateway.tencent): where REST v4 is called
    # (`/v4/...` is appended to this scheme://host[:port]), the admin identifier it is called as,
    # the callback token set in Tencent's console, and the path Tencent's webhooks are POSTed to.
    # `POST <tencent_callback_path>` is served only while a token is set: every callback must carry
    # Sign = sha256(token + RequestTime), so without one nothing could be accepted.
    tencent_api_url: str = "https://console.tim.qq.com"
    tencent_admin: str = "administrator"
    tencent_callback_token: str | None = None
    tencent_callback_path: str = "/tencent/callback"
    # each REST attempt gets this long all told before it ends in 7012 (Tencent itself gives up
    # after 3 s), and an idempotent call is sent again after this back-off, doubled each time
    tencent_timeout_seconds: float = 5.0
    tencent_retry_backoff_seconds: float = 0.25
    # every this many seconds each replica reads back, for the users live on it, what lost webhooks
    # did not bring (gateway.tencent.reconcile); 0: only when a user comes online
    tencent_reconcile_seconds: float = 300.0

    @property
    def admin_identifiers(self) -> frozenset[str]:
        """The app admin accounts (IMQL_ADMIN_IDENTIFIER is a comma-separated list)."""
        return frozenset(a.strip() for a in self.admin_identifier.split(",") if a.strip())

    @property
    def is_development_app(self) -> bool:
        return self.secret_key == DEV_SECRET_KEY

    @property
    def persistent(self) -> bool:
        return self.redis_url is not None

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _retention_days(env: Mapping[str, str]) -> int:
    days = _int(env, "IMQL_MESSAGE_RETENTION_DAYS", 0)
    if days < 0:
        raise ConfigError(f"IMQL_MESSAGE_RETENTION_DAYS must be 0 (forever) or a number of days, got {days}")
    return days


def _worker_healthcheck(env: Mapping[str, str]) -> int:
    seconds = _int(env, "IMQL_WORKER_HEALTHCHECK_SECONDS", 30)
    if seconds < 1:
        raise ConfigError(f"IMQL_WORKER_HEALTHCHECK_SECONDS must be 1 or more (whole seconds), got {seconds}")
    return seconds


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: str) -> str | None:
    """`origin` as a browser sends it in `Origin` (scheme://host[:port], lowercase, no default
    port), or None when it is not an origin (`null`, a path, garbage)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def parse_allowed_origins(raw: str) -> tuple[str, ...]:
    """IMQL_ALLOWED_ORIGINS (comma-separated) → normalized origins; ValueError names a bad one."""
    found: list[str] = []
    for item in (o.strip() for o in raw.split(",")):
        if not item:
            continue
        if item == "*":
            found.append(item)
            continue
        normalized = normalize_origin(item)
        if normalized is None:
            raise ValueError(
                f"IMQL_ALLOWED_ORIGINS: {item!r} is not an origin; expected '*' or scheme://host[:port] "
                "such as http://localhost:5173 (no path)"
            )
        found.append(normalized)
    return tuple(dict.fromkeys(found))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    backend = env.get("IMQL_BACKEND", "embedded").strip().lower() or "embedded"
    if backend not in BACKENDS:
        raise ConfigError(f"IMQL_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
    sdkappid = _int(env, "IMQL_SDKAPPID", DEV_SDKAPPID)
    if sdkappid <= 0:
        raise ConfigError("IMQL_SDKAPPID must be a positive integer")
    secret = env.get("IMQL_SECRET_KEY") or DEV_SECRET_KEY
    redis_url = env.get("IMQL_REDIS_URL") or None
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("IMQL_REDIS_URL must start with redis://, rediss:// or unix://")
    redis_cluster, wait_replicas = _redis_topology(env, redis_url)
    port = _int(env, "IMQL_PORT", 8000)
    if not 0 <= port <= 65535:
        raise ConfigError("IMQL_PORT must be 0..65535")
    try:
        origins = parse_allowed_origins(env.get("IMQL_ALLOWED_ORIGINS", ""))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    request_timeout = _float(env, "IMQL_REQUEST_TIMEOUT", 30.0)
    if not request_timeout > 0:
        raise ConfigError("IMQL_REQUEST_TIMEOUT must be a positive number of seconds")
    push_url = env.get("IMQL_PUSH_WEBHOOK_URL") or None
    push_secret = env.get("IMQL_PUSH_WEBHOOK_SECRET") or None
    if push_url is not None:
        if not push_url.startswith(("http://", "https://")):
            raise ConfigError("IMQL_PUSH_WEBHOOK_URL must start with http:// or https://")
        if push_secret is None or len(push_secret) < 16:
            raise ConfigError("IMQL_PUSH_WEBHOOK_URL needs IMQL_PUSH_WEBHOOK_SECRET (16+ characters) to sign pushes")
    callbacks = _callback_settings(env)
    tencent = _tencent_settings(env)
    if backend == "tencent":
        if not tencent["tencent_callback_token"]:
            raise ConfigError(
                "IMQL_BACKEND=tencent needs IMQL_TENCENT_CALLBACK_TOKEN (the callback token set in Tencent's "
                "console): Tencent's webhooks are how imql users hear of native users' messages and changes"
            )
        if callbacks["callback_url"] is not None:
            raise ConfigError(
                "IMQL_CALLBACK_URL is the embedded engine's own third-party callbacks; with IMQL_BACKEND=tencent, "
                "Tencent sends them: set the callback URL in Tencent's console instead"
            )
    trusted = env.get("IMQL_TRUSTED_DOCUMENTS") or None
    return Settings(
        trusted_documents=None if trusted is None else load_trusted_documents(Path(trusted)),
        sdkappid=sdkappid,
        secret_key=secret,
        redis_url=redis_url,
        redis_cluster=redis_cluster,
        redis_wait_replicas=wait_replicas,
        backend=backend,
        host=env.get("IMQL_HOST", "127.0.0.1") or "127.0.0.1",
        port=port,
        data_dir=Path(env.get("IMQL_DATA_DIR", "./.imql") or "./.imql"),
        public_url=_public_url(env),
        allowed_origins=origins,
        rate_limit_per_second=_float(env, "IMQL_RATE_LIMIT", 50.0),
        rate_limit_burst=_int(env, "IMQL_RATE_BURST", 200),
        max_subscriptions_per_connection=_int(env, "IMQL_MAX_SUBSCRIPTIONS_PER_CONNECTION", 32),
        ws_init_timeout_seconds=_float(env, "IMQL_WS_INIT_TIMEOUT", 10.0),
        request_timeout_seconds=request_timeout,
        log_level=env.get("IMQL_LOG_LEVEL", "info").lower(),
        worker_healthcheck_seconds=_worker_healthcheck(env),
        friends_only=_flag(env, "IMQL_FRIENDS_ONLY"),
        ws_compression=_flag(env, "IMQL_WS_COMPRESSION"),
        admin_identifier=env.get("IMQL_ADMIN_IDENTIFIER", "administrator") or "administrator",
        group_recycle_days=_int(env, "IMQL_GROUP_RECYCLE_DAYS", 0),
        message_retention_days=_retention_days(env),
        push_webhook_url=push_url,
        push_webhook_secret=push_secret,
        **callbacks,
        **tencent,
    )


_SWITCH = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
WAIT_REPLICAS_MAX = 16  # more replicas than a shard sensibly has: a typo, not a setting


def _redis_topology(env: Mapping[str, str], redis_url: str | None) -> tuple[bool, int]:
    """IMQL_REDIS_CLUSTER and IMQL_REDIS_WAIT_REPLICAS, checked against IMQL_REDIS_URL."""
    raw = env.get("IMQL_REDIS_CLUSTER", "").strip().lower()
    if raw and raw not in _SWITCH:
        raise ConfigError(f"IMQL_REDIS_CLUSTER must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")
    cluster = _SWITCH.get(raw, False)
    if cluster:
        if redis_url is None:
            raise ConfigError(
                "IMQL_REDIS_CLUSTER=1 needs IMQL_REDIS_URL naming one node of the cluster, e.g. redis://10.0.0.5:6379"
            )
        parts = urlsplit(redis_url)
        if parts.scheme == "unix":
            raise ConfigError("IMQL_REDIS_CLUSTER=1 needs a redis:// or rediss:// IMQL_REDIS_URL: a cluster speaks TCP")
        if parts.path.strip("/") not in ("", "0"):
            database = parts.path.strip("/")
            raise ConfigError(f"IMQL_REDIS_URL names database {database!r}: a Redis Cluster has database 0 only")
    wait_replicas = _int(env, "IMQL_REDIS_WAIT_REPLICAS", 0)
    if not 0 <= wait_replicas <= WAIT_REPLICAS_MAX:
        raise ConfigError(
            f"IMQL_REDIS_WAIT_REPLICAS must be 0..{WAIT_REPLICAS_MAX} (the replicas an acknowledged send waits for)"
        )
    if wait_replicas and redis_url is None:
        raise ConfigError("IMQL_REDIS_WAIT_REPLICAS needs IMQL_REDIS_URL: the embedded store has no replicas")
    return cluster, wait_replicas


APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"


def load_trusted_documents(path: Path) -> tuple[tuple[str, str], ...]:
    """A persisted-query manifest → its (document ID, document) pairs. Two formats: Apollo's
    (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "body",
    "name", "type"}]}`, from @apollo/generate-persisted-query-manifest) and a plain `{id: document}`
    map (graphql-codegen's client preset with `persistedDocuments`: persisted-documents.json)."""
    name = f"IMQL_TRUSTED_DOCUMENTS ({path})"
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{name} cannot be read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"{name} is not JSON: {exc}") from exc
    pairs: list[tuple[object, object]]
    if isinstance(manifest, dict) and manifest.get("format") == APOLLO_MANIFEST_FORMAT:
        operations = manifest.get("operations")
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise ConfigError(f"{name}: an Apollo manifest's `operations` must be a list of {{id, body, ...}}")
        pairs = [(o.get("id"), o.get("body")) for o in operations]
    elif isinstance(manifest, dict) and "format" not in manifest:
        pairs = list(manifest.items())
    else:
        raise ConfigError(f"{name}: expected Apollo's persisted query manifest or a {{document ID: document}} map")
    bad = [str(i) for i, body in pairs if not isinstance(i, str) or not i or not isinstance(body, str) or not body]
    if bad:
        raise ConfigError(f"{name}: entries without a string ID and document: {', '.join(bad[:5])}")
    if not pairs:
        raise ConfigError(f"{name} lists no documents: nothing could run")
    return tuple((str(i), str(body)) for i, body in pairs)


CALLBACK_TIMEOUT_MAX_SECONDS = 30.0  # a before-callback holds its action (a send) this long at worst
CALLBACK_POLICIES = {"open": False, "closed": True}


class _CallbackSettings(TypedDict):
    callback_url: str | None
    callback_token: str | None
    callback_commands: frozenset[str]
    callback_timeout_seconds: float
    callback_fail_closed: bool


def _callback_settings(env: Mapping[str, str]) -> _CallbackSettings:
    """IMQL_CALLBACK_URL, _TOKEN, _COMMANDS, _TIMEOUT and _FAILURE_POLICY, checked."""
    url = env.get("IMQL_CALLBACK_URL") or None
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError("IMQL_CALLBACK_URL must start with http:// or https://")
    raw_commands = env.get("IMQL_CALLBACK_COMMANDS", "")
    commands = frozenset(c.strip() for c in raw_commands.split(",") if c.strip()) or SUPPORTED_COMMANDS
    unknown = sorted(commands - SUPPORTED_COMMANDS)
    if unknown:
        known = ", ".join(sorted(SUPPORTED_COMMANDS))
        raise ConfigError(f"IMQL_CALLBACK_COMMANDS: imql sends no {', '.join(unknown)}; it sends {known}")
    timeout = _float(env, "IMQL_CALLBACK_TIMEOUT", 2.0)
    if not 0 < timeout <= CALLBACK_TIMEOUT_MAX_SECONDS:
        raise ConfigError(f"IMQL_CALLBACK_TIMEOUT must be a number of seconds in (0, {CALLBACK_TIMEOUT_MAX_SECONDS:g}]")
    policy = (env.get("IMQL_CALLBACK_FAILURE_POLICY") or "open").strip().lower()
    if policy not in CALLBACK_POLICIES:
        raise ConfigError(
            "IMQL_CALLBACK_FAILURE_POLICY must be 'open' (let the action through) or 'closed' (refuse it)"
        )
    return _CallbackSettings(
        callback_url=url,
        callback_token=env.get("IMQL_CALLBACK_TOKEN") or None,
        callback_commands=commands,
        callback_timeout_seconds=timeout,
        callback_fail_closed=CALLBACK_POLICIES[policy],
    )


TENCENT_DEFAULT_API_URL = "https://console.tim.qq.com"
TENCENT_DEFAULT_ADMIN = "administrator"
TENCENT_DEFAULT_CALLBACK_PATH = "/tencent/callback"
_USER_ID_MAX_BYTES = 32  # a Tencent userID: printable ASCII, at most 32 bytes (the admin is one)


class _TencentSettings(TypedDict):
    tencent_api_url: str
    tencent_admin: str
    tencent_callback_token: str | None
    tencent_callback_path: str
    tencent_timeout_seconds: float
    tencent_retry_backoff_seconds: float
    tencent_reconcile_seconds: float


def _public_url(env: Mapping[str, str]) -> str | None:
    """IMQL_PUBLIC_URL, checked: an absolute http(s) URL without query or fragment, kept without a
    trailing slash (media paths are appended to it)."""
    raw = (env.get("IMQL_PUBLIC_URL") or "").strip()
    if not raw:
        return None
    expected = "http(s)://host[:port][/path], e.g. https://chat.example.com"
    _check_http_base(raw, "IMQL_PUBLIC_URL", expected, "scheme, host, port and path")
    return raw.rstrip("/")


def _check_http_base(url: str, name: str, expected: str, parts_allowed: str) -> None:
    """ConfigError unless `url` is an http(s) URL with a host and a valid port, and no user,
    query or fragment (a base that paths are appended to)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be {expected}, got {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{name} must be {parts_allowed} only (no query, fragment or user)")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0..65535
    except ValueError as exc:
        raise ConfigError(f"{name} has a bad port: {url!r}") from exc


def _tencent_settings(env: Mapping[str, str]) -> _TencentSettings:
    """IMQL_TENCENT_API_URL, _ADMIN, _CALLBACK_TOKEN and _CALLBACK_PATH, checked (read whatever the
    backend, so a typo is reported before IMQL_BACKEND=tencent is switched on)."""
    url = (env.get("IMQL_TENCENT_API_URL") or TENCENT_DEFAULT_API_URL).strip().rstrip("/")
    _check_http_base(
        url, "IMQL_TENCENT_API_URL", f"http(s)://host[:port] (e.g. {TENCENT_DEFAULT_API_URL})", "scheme, host and port"
    )
    admin = env.get("IMQL_TENCENT_ADMIN", TENCENT_DEFAULT_ADMIN).strip()  # set but empty is an error
    if not admin:
        raise ConfigError("IMQL_TENCENT_ADMIN must not be empty: it is the admin identifier REST v4 is called as")
    if len(admin.encode()) > _USER_ID_MAX_BYTES or not all(0x21 <= ord(ch) <= 0x7E for ch in admin):
        raise ConfigError("IMQL_TENCENT_ADMIN must be a userID: printable ASCII without spaces, at most 32 bytes")
    path = (env.get("IMQL_TENCENT_CALLBACK_PATH") or TENCENT_DEFAULT_CALLBACK_PATH).strip()
    if not path.startswith("/") or any(ch in path for ch in "?# ") or path.startswith("/v4/") or path == "/graphql":
        raise ConfigError(
            "IMQL_TENCENT_CALLBACK_PATH must be a path starting with / (no query), other than /graphql and /v4/..."
        )
    timeout = _float(env, "IMQL_TENCENT_TIMEOUT", 5.0)
    if not timeout > 0:
        raise ConfigError("IMQL_TENCENT_TIMEOUT must be a positive number of seconds (one REST attempt, all told)")
    backoff = _float(env, "IMQL_TENCENT_RETRY_BACKOFF", 0.25)
    if not backoff >= 0:
        raise ConfigError("IMQL_TENCENT_RETRY_BACKOFF must be a number of seconds, 0 or more")
    reconcile = _float(env, "IMQL_TENCENT_RECONCILE_SECONDS", 300.0)
    if not reconcile >= 0:
        raise ConfigError("IMQL_TENCENT_RECONCILE_SECONDS must be a number of seconds, 0 (off) or more")
    return _TencentSettings(
        tencent_api_url=url,
        tencent_admin=admin,
        tencent_callback_token=env.get("IMQL_TENCENT_CALLBACK_TOKEN") or None,
        tencent_callback_path=path,
        tencent_timeout_seconds=timeout,
        tencent_retry_backoff_seconds=backoff,
        tencent_reconcile_seconds=reconcile,
    )
