"""The peer imql is measured against: yoga-chat (GraphQL Yoga + graphql-ws + ioredis), what a Node
team would build instead (../shared/peers/yoga-chat, its README).

`shared/` is read-only, so the peer is built in a scratch copy: `<repo>/.bench-cache/yoga-chat-<hash>`
(git-ignored; IMQL_BENCH_CACHE moves it), keyed by a hash of its lock file, package.json, tsconfig
and sources, so `npm ci` and `tsc` run once per version of the peer. Each benchmark run starts it
with `node dist/server.js` on a free port against the run's Redis and database, its keys under a
prefix of the run's own (`ycbench<SDKAppID>:`), deleted afterwards.

It is skipped, with a note on stderr, when node or npm is missing (IMQL_BENCH_NODE names node when
it is not on PATH), when its directory is missing (IMQL_BENCH_PEER_DIR), when its build fails, or
with IMQL_BENCH_PEER=off.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from bench.harness import ServerProcess

PEER_NAME = "yoga-chat"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PEER_DIR = ROOT.parent / "shared" / "peers" / "yoga-chat"
BUILD_SECONDS = 600
LOGIN_BATCH = 200  # logins per request (aliased fields of one mutation)
# the peer's own graph (its README): what imql's benchmark queries and listeners ask, in its words
NEW_MESSAGES = "subscription { newMessages { text } }"
SEND_C2C = "mutation Send($to: ID!, $text: String!) { sendMessage(receiver: $to, text: $text) { msgID } }"
CREATE_GROUP = (
    "mutation G($g: ID!, $n: String!, $m: [ID!]!) { createGroup(groupID: $g, name: $n, memberIDs: $m) { groupID } }"
)
SEND_GROUP = "mutation Send($g: ID!, $text: String!) { sendMessage(groupID: $g, text: $text) { msgID } }"


def peer_dir() -> Path:
    return Path(os.environ.get("IMQL_BENCH_PEER_DIR") or DEFAULT_PEER_DIR)


def cache_dir() -> Path:
    return Path(os.environ.get("IMQL_BENCH_CACHE") or ROOT / ".bench-cache")


def node_binary() -> str | None:
    named = os.environ.get("IMQL_BENCH_NODE")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("node")


def npm_binary(node: str) -> str | None:
    """npm beside the node used (a node from IMQL_BENCH_NODE brings its own), else on PATH."""
    beside = Path(node).parent / "npm"
    return str(beside) if os.access(beside, os.X_OK) else shutil.which("npm")


def unavailable() -> str | None:
    """Why the peer cannot run here, or None when it can (its build is checked later)."""
    if os.environ.get("IMQL_BENCH_PEER", "auto") == "off":
        return "IMQL_BENCH_PEER=off"
    node = node_binary()
    if node is None:
        return "node is not installed (put it on PATH, or name it in IMQL_BENCH_NODE)"
    if npm_binary(node) is None:
        return f"npm is not installed beside {node} nor on PATH"
    if not (peer_dir() / "package-lock.json").is_file():
        return f"no peer at {peer_dir()} (IMQL_BENCH_PEER_DIR)"
    return None


def source_hash(source: Path) -> str:
    """What decides the build: the lock file, package.json, tsconfig and every source file."""
    digest = hashlib.sha256()
    files = [source / "package-lock.json", source / "package.json", source / "tsconfig.json"]
    files += sorted(p for p in (source / "src").rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build at a time across processes (parallel test workers build the same copy)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build() -> Path:
    """The built scratch copy of the peer (`dist/server.js` in it), built now if not cached.
    Blocking (npm ci and tsc take ~5 s the first time); raises RuntimeError when the build fails."""
    source = peer_dir()
    target = cache_dir() / f"yoga-chat-{source_hash(source)}"
    if (target / "dist" / "server.js").is_file():
        return target
    node = node_binary()
    assert node is not None
    npm = npm_binary(node)
    assert npm is not None
    cache_dir().mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir() / f".{target.name}.lock"):
        if (target / "dist" / "server.js").is_file():  # another process built it while we waited
            return target
        scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir()))
        try:
            shutil.copytree(source, scratch, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules", "dist"))
            for path in [scratch, *scratch.rglob("*")]:  # shared/ is read-only, and copies keep modes
                path.chmod(path.stat().st_mode | 0o200)
            env = {**os.environ, "PATH": f"{Path(node).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
            for argv in (
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                [node, "node_modules/typescript/bin/tsc", "-p", "."],
            ):
                done = subprocess.run(
                    argv, cwd=scratch, env=env, capture_output=True, text=True, timeout=BUILD_SECONDS, check=False
                )
                if done.returncode != 0:
                    raise RuntimeError(f"{' '.join(argv[:2])} failed: {(done.stdout + done.stderr)[-1500:]}")
            scratch.rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def process_env(redis_url: str, port: int, prefix: str, secret: str) -> dict[str, str]:
    """The peer's settings (its README): this run's Redis and database, its own key prefix."""
    return {
        **os.environ,
        "NODE_ENV": "production",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "KEY_PREFIX": prefix,
        "TOKEN_SECRET": secret,
    }


@dataclass
class Peer:
    """A running yoga-chat process and the calls a benchmark makes to it outside the timed part."""

    server: ServerProcess
    prefix: str

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    async def call(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        """One GraphQL request; its data (an error answer raises)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(timeout=120) as http:
            reply = await http.post(
                self.url + "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        body = reply.json()
        if reply.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{PEER_NAME}: {str(body)[:500]}")
        return body["data"]

    async def login(self, user_ids: Sequence[str]) -> list[str]:
        """A token for each user (`login` also creates the user), LOGIN_BATCH logins per request."""
        tokens: list[str] = []
        for i in range(0, len(user_ids), LOGIN_BATCH):
            chunk = user_ids[i : i + LOGIN_BATCH]
            fields = " ".join(f'u{n}: login(userID: "{user}") {{ token }}' for n, user in enumerate(chunk))
            data = await self.call(f"mutation {{ {fields} }}")
            tokens += [data[f"u{n}"]["token"] for n in range(len(chunk))]
        return tokens

    async def create_group(self, token: str, group_id: str, members: Sequence[str]) -> None:
        await self.call(CREATE_GROUP, {"g": group_id, "n": group_id, "m": list(members)}, token)

    async def live_user_channels(self, redis: Any) -> int:
        """Subscriptions the peer is following: one Redis channel per subscribed user, subscribed
        when the subscription starts listening (graphql-ws acknowledges no subscribe message)."""
        channels = await redis.pubsub_channels(f"{self.prefix}user:*")
        return len(channels)
