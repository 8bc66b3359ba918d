"""What every scenario shares: the gateway under test, the engine for set-up, figures, clean-up.

A run gets an SDKAppID of its own, so every key it writes is under `imql:{<that app>` and clean-up
is one prefix scan, whatever Redis it shares with. The gateway runs as a child process exactly as
a user starts it (`python -m gateway serve`), on `IMQL_REDIS_URL`; the benchmark process builds its
own `Gateway` on the same Redis to write the scenario's data straight through the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import peer as peers
from bench.peer import PEER_NAME, Peer
from gateway.config import Settings
from gateway.services import Gateway
from gateway.session.pool import Session
from gateway.usersig import mint

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BENCH_SECRET = "imql-benchmark-secret-key-not-for-production-use"  # noqa: S105 (a throwaway app)
# Benchmarks measure what a request costs, not the per-user budget that would cut a load test off.
UNLIMITED_RATE = "1000000000"
SERVER_START_SECONDS = 30.0
FD_LIMIT_WANTED = 65_536  # 10,000 WebSockets hold a socket at each end


def emit(scenario: str, figure: str, value: float | int | str, unit: str = "", **extra: Any) -> None:
    """One figure, one JSON line on stdout: what `python -m bench` promises."""
    line: dict[str, Any] = {"scenario": scenario, "figure": figure, "value": value}
    if unit:
        line["unit"] = unit
    line.update(extra)
    print(json.dumps(line), flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; what load tools report."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def raise_fd_limit() -> None:
    """Up to FD_LIMIT_WANTED open files for this process and the servers it starts (they inherit
    it); the hard limit too when allowed (root), else as far as it goes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= FD_LIMIT_WANTED:
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT_WANTED, max(hard, FD_LIMIT_WANTED)))
        return
    wanted = min(hard, FD_LIMIT_WANTED) if hard != resource.RLIM_INFINITY else FD_LIMIT_WANTED
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) of process `pid` and its descendants so far, from
    /proc/<pid>/stat: what a server spent, whatever else runs on the machine."""
    total = 0.0
    todo = [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{current}/stat").read_text()
            # the command name (field 2) may hold spaces: count fields after its closing parenthesis
            fields = stat[stat.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return total


async def redis_commands(redis: Any) -> int:
    """Commands Redis has executed so far, by INFO commandstats (commands inside MULTI and inside
    scripts each count, as do MULTI and EXEC), the INFO calls that read it left out."""
    stats = await redis.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A child process serving HTTP on 127.0.0.1:port until stopped (`argv` and `env` started it)."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    argv: list[str]
    env: dict[str, str]
    ready_path: str = "/readyz"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time the server (its process and any children) has used so far."""
        return cpu_seconds(self.proc.pid)

    def rss_bytes(self) -> int:
        """Resident memory now (Linux /proc), for memory-per-subscription figures."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    async def metric(self, name: str) -> float:
        """A metric's value from the process's /metrics (0 when it is not there)."""
        async with httpx.AsyncClient() as http:
            text = (await http.get(self.url + "/metrics", timeout=10)).text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def wait_ready(self) -> None:
        path = self.ready_path
        deadline = time.monotonic() + SERVER_START_SECONDS
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(self.url + path, timeout=2)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(
            f"server did not become ready in {SERVER_START_SECONDS}s: {self.log_path.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Bench:
    """One scenario's run: its app, its gateway process(es), its engine, its clean-up."""

    def __init__(
        self,
        scenario: str,
        *,
        tiny: bool,
        redis_url: str | None = None,
        cluster: bool = False,
        wait_replicas: int = 0,
        gateway_args: Sequence[str] = (),
        labels: dict[str, str] | None = None,
        with_peer: bool = True,
    ) -> None:
        """`redis_url`, `cluster`, `wait_replicas`: the store to run on (default IMQL_REDIS_URL, a single
        Redis); `gateway_args`: more `imql serve` flags (e.g. --workers 2); `labels`: fields added
        to every figure (e.g. the topology of a variant); `with_peer`: False leaves the peer out."""
        self.scenario = scenario
        self.tiny = tiny
        self.redis_url = redis_url or os.environ.get("IMQL_REDIS_URL") or DEFAULT_REDIS_URL
        self.cluster = cluster
        self.wait_replicas = wait_replicas
        self.gateway_args = list(gateway_args)
        self.labels = dict(labels or {})
        self.figures: list[dict[str, Any]] = []  # what this run emitted, for variants that compare runs
        # an app of its own: keys are isolated from any other data in this Redis, and easy to drop
        self.sdkappid = 1_500_000_000 + random.randrange(100_000_000)  # tests use 1.6e9 and up
        self.workdir = Path(tempfile.mkdtemp(prefix=f"imql-bench-{scenario}-"))
        self.settings = Settings(
            sdkappid=self.sdkappid,
            secret_key=BENCH_SECRET,
            redis_url=self.redis_url,
            redis_cluster=cluster,
            redis_wait_replicas=wait_replicas,
            data_dir=self.workdir / "data",
            rate_limit_per_second=float(UNLIMITED_RATE),
            rate_limit_burst=int(UNLIMITED_RATE),
        )
        self.servers: list[ServerProcess] = []
        self.gw: Gateway | None = None
        self.redis_proc: subprocess.Popen[bytes] | None = None
        # the peer (bench/peer.py): why it cannot run here (None: it can), its keys and its tokens' secret
        self.peer_note = peers.unavailable()
        if cluster:
            self.peer_note = "it runs on a single Redis, not a cluster"
        if not with_peer:
            self.peer_note = "not compared in this scenario"
        self._peer_note_printed = False
        self._peer_build: Path | None = None
        self.peer_prefix = f"ycbench{self.sdkappid}:"
        self.peer_secret = secrets.token_urlsafe(24)

    @property
    def engine(self) -> Gateway:
        assert self.gw is not None, "use `async with bench.running()`"
        return self.gw

    def emit(self, figure: str, value: float | int | str, unit: str = "", **extra: Any) -> None:
        extra = {**self.labels, **extra}
        self.figures.append({"figure": figure, "value": value, **extra})
        emit(self.scenario, figure, value, unit, **extra)

    def config(self) -> dict[str, Any]:
        """The settings a Bench of the same run in another process is made with (bench/sides.py)."""
        return {
            "tiny": self.tiny,
            "redis_url": self.redis_url,
            "cluster": self.cluster,
            "wait_replicas": self.wait_replicas,
            "gateway_args": self.gateway_args,
            "with_peer": self.peer_note is None or self._peer_build is not None,
        }

    def emit_compared(
        self,
        figure: str,
        value: float,
        peer_value: float | None,
        unit: str = "",
        *,
        peer_extra: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        """imql's figure with the peer's measured in the same run: the peer's line first (with
        `peer_extra` instead of `extra` when given), then imql's carrying `peer` and `ratio_to_peer`
        (imql / peer: above 1 is more req/s, ms or KB than the peer). Without a peer figure (the
        peer is not run here), imql's line alone."""
        if peer_value is None:
            self.emit(figure, value, unit, server="imql", **extra)
            return
        self.emit(figure, peer_value, unit, server=PEER_NAME, **(extra if peer_extra is None else peer_extra))
        ratio = round(value / peer_value, 3) if peer_value else None
        self.emit(figure, value, unit, server="imql", peer=peer_value, ratio_to_peer=ratio, **extra)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "IMQL_REDIS_URL": self.redis_url,
            "IMQL_REDIS_CLUSTER": "1" if self.cluster else "0",
            "IMQL_REDIS_WAIT_REPLICAS": str(self.wait_replicas),
            "IMQL_SDKAPPID": str(self.sdkappid),
            "IMQL_SECRET_KEY": BENCH_SECRET,
            "IMQL_RATE_LIMIT": UNLIMITED_RATE,
            "IMQL_RATE_BURST": UNLIMITED_RATE,
            "IMQL_DATA_DIR": str(self.workdir / "data"),
            "IMQL_LOG_LEVEL": "warning",
            "IMQL_MAX_SUBSCRIPTIONS_PER_CONNECTION": "32",
            **extra,
        }

    async def start_process(
        self, argv: list[str], name: str, ready_path: str = "/readyz", env: dict[str, str] | None = None
    ) -> ServerProcess:
        """`python <argv> --port P` on a free port. `env`: settings of this process only (on top of the run's)."""
        port = free_port()
        argv = [sys.executable, *argv, "--port", str(port)]
        return await self.spawn(argv, name, port, self.env(**(env or {})), ready_path)

    async def spawn(self, argv: list[str], name: str, port: int, env: dict[str, str], ready_path: str) -> ServerProcess:
        """Start `argv` (which serves on `port`) with exactly `env`, and wait until `ready_path` answers 200."""
        log_path = self.workdir / f"{name}-{port}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: ASYNC220 (takes no time to speak of)
        server = ServerProcess(proc, port, log_path, argv, env, ready_path)
        self.servers.append(server)
        await server.wait_ready()
        return server

    async def start_again(self, server: ServerProcess) -> ServerProcess:
        """A new process of a stopped server, on the same port with the same settings (a deploy)."""
        if server.proc.poll() is None:
            raise RuntimeError("stop the server before starting it again")
        if server in self.servers:
            self.servers.remove(server)
        name = server.log_path.name.rsplit("-", 1)[0]
        return await self.spawn(server.argv, name, server.port, server.env, server.ready_path)

    async def start_gateway(self, **env: str) -> ServerProcess:
        """`imql serve`, as the README runs it, on this run's app and Redis (`env`: more settings)."""
        return await self.start_process(["-m", "gateway", "serve", *self.gateway_args], "imql", env=env)

    def use_private_redis(self) -> bool:
        """Run on a redis-server of this run's own (in memory, on a free port) instead of
        IMQL_REDIS_URL, so that INFO counts only this run's servers; call before `running()`.
        False (and the shared Redis) when redis-server is not installed."""
        binary = shutil.which("redis-server")
        if binary is None:
            return False
        port = free_port()
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.redis_proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=self.workdir)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    break
            if self.redis_proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bench: a private redis-server on port {port} did not start")
            time.sleep(0.05)
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        self.settings = self.settings.with_overrides(redis_url=self.redis_url)
        print(f"bench: {self.scenario} runs on a redis-server of its own at {self.redis_url}", file=sys.stderr)
        return True

    async def peer_available(self) -> bool:
        """Whether the peer can run here, built now if need be (bench/peer.py); if not, the reason
        is printed on stderr (once)."""
        if self.peer_note is None and self._peer_build is None:
            try:
                self._peer_build = await asyncio.to_thread(peers.build)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                self.peer_note = f"its build failed: {exc}"
        if self.peer_note is not None or self._peer_build is None:
            if not self._peer_note_printed:
                print(f"bench: {self.scenario}: no {PEER_NAME} column: {self.peer_note}", file=sys.stderr, flush=True)
                self._peer_note_printed = True
            return False
        return True

    async def start_peer(self, port: int | None = None) -> Peer | None:
        """yoga-chat on this run's Redis (on `port`, else a free one), or None when it cannot run
        here (see peer_available)."""
        if not await self.peer_available():
            return None
        assert self._peer_build is not None
        node = peers.node_binary()
        assert node is not None
        port = port or free_port()
        env = peers.process_env(self.redis_url, port, self.peer_prefix, self.peer_secret)
        argv = [node, str(self._peer_build / "dist" / "server.js")]
        return Peer(await self.spawn(argv, PEER_NAME, port, env, "/health"), self.peer_prefix)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Bench]:
        raise_fd_limit()
        self.gw = Gateway.build(self.settings)
        try:
            await self.gw.redis.ping()
        except Exception as exc:
            raise SystemExit(f"bench: no Redis answers at {self.redis_url} (set IMQL_REDIS_URL): {exc}") from exc
        try:
            yield self
        finally:
            for server in self.servers:
                server.stop()
            await self.cleanup()
            await self.gw.close()
            if self.redis_proc is not None:
                self.redis_proc.terminate()
                self.redis_proc.wait(10)

    async def cleanup(self) -> None:
        """Drop every key of this run's app, and the peer's."""
        redis = self.engine.redis
        patterns = self.engine.keys.scan_patterns()
        if self._peer_build is not None:
            patterns = (*patterns, self.peer_prefix + "*")
        for pattern in patterns:
            batch: list[str] = []
            async for key in redis.scan_iter(match=pattern, count=5000):  # every master's, on a cluster
                batch.append(key)
                if len(batch) >= 5000:
                    await redis.unlink(*batch)  # a cluster client splits it by slot
                    batch.clear()
            if batch:
                await redis.unlink(*batch)

    # ---- users -------------------------------------------------------------------------------
    def user_sig(self, user_id: str) -> str:
        return mint(self.sdkappid, BENCH_SECRET, user_id, now=int(time.time()), expire=86_400)

    async def login(self, user_ids: Sequence[str], platform: str = "web") -> list[Session]:
        """Sessions made by the engine (what the login mutation does), many at a time."""
        sessions: list[Session] = []
        step = 200
        for i in range(0, len(user_ids), step):
            chunk = user_ids[i : i + step]
            sessions.extend(
                await asyncio.gather(*(self.engine.sessions.login(u, self.user_sig(u), platform) for u in chunk))
            )
        return sessions


def tcp_connections_to(pid: int, port: int) -> int:
    """Established TCP connections of process `pid` to a local `port` (Linux /proc): how many
    Redis connections a gateway process holds, whoever else shares the Redis."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                established = fields[3] == "01"
                if remote_port == port and established and fields[9] in inodes:
                    count += 1
    return count
