"""HTTP load: closed-loop clients, each sending its next request when the last one's answer is in.

Two engines give the same figures: wrk (C, one thread) when it is installed, as it costs the
machine the least, and otherwise our own asyncio client, run in a process of its own. Our client
keeps each connection alive, sends pre-built bytes and reads answers by Content-Length: little
enough work that a bare Starlette endpoint, not the client, is what tops out first.

Run as a process: `python -m bench.load <spec.json>` prints one JSON result.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

from bench import loop


@dataclass
class LoadSpec:
    host: str
    port: int
    path: str
    bodies: list[str]  # one per client (e.g. each with its own user's token); clients cycle through them
    tokens: list[str]
    concurrency: int
    seconds: float
    warmup_seconds: float = 1.0


@dataclass
class LoadResult:
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    engine: str


def _request_bytes(spec: LoadSpec, body: str, token: str) -> bytes:
    raw = body.encode()
    head = (
        f"POST {spec.path} HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(raw)}\r\n\r\n"
    )
    return head.encode() + raw


class _Client(asyncio.Protocol):
    """One keep-alive connection: send, read one answer, send again."""

    def __init__(self, request: bytes, run: _Run) -> None:
        self.request = request
        self.run = run
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have the same methods
        self.transport = cast(asyncio.Transport, transport)
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if self.run.stopping:
            self.transport.close()
            return
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            length = int(match.group(1)) if match else 0
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            ok = head.startswith(b"HTTP/1.1 200")
            del self.buffer[:total]
            self.run.record(time.perf_counter() - self.sent_at, ok)
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.closed += 1


class _Run:
    def __init__(self) -> None:
        self.stopping = False
        self.measuring = False
        self.latencies: list[float] = []
        self.errors = 0
        self.closed = 0

    def record(self, seconds: float, ok: bool) -> None:
        if not self.measuring:
            return
        self.latencies.append(seconds)
        if not ok:
            self.errors += 1


async def _python_load(spec: LoadSpec) -> LoadResult:
    loop = asyncio.get_running_loop()
    run = _Run()
    for i in range(spec.concurrency):
        request = _request_bytes(spec, spec.bodies[i % len(spec.bodies)], spec.tokens[i % len(spec.tokens)])
        await loop.create_connection(lambda r=request: _Client(r, run), spec.host, spec.port)  # type: ignore[misc]
    await asyncio.sleep(spec.warmup_seconds)
    run.measuring = True
    started = time.perf_counter()
    await asyncio.sleep(spec.seconds)
    run.measuring = False
    elapsed = time.perf_counter() - started
    run.stopping = True
    await asyncio.sleep(0.2)
    lat = sorted(run.latencies)
    return LoadResult(
        requests=len(lat),
        errors=run.errors,
        rps=len(lat) / elapsed,
        p50_ms=_pct(lat, 50) * 1000,
        p99_ms=_pct(lat, 99) * 1000,
        engine="python",
    )


def _pct(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


_WRK_SCRIPT = """
local bodies = {%s}
local tokens = {%s}
local counter = 0
request = function()
  counter = counter + 1
  local i = (counter %% #bodies) + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. tokens[(counter %% #tokens) + 1]
  return wrk.format("POST", "%s", headers, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  local failed = e.status + e.connect + e.read + e.write + e.timeout
  io.write(string.format("IMQL %%d %%d %%d %%f %%f\\n", summary.requests, failed,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk_load(spec: LoadSpec, wrk: str) -> LoadResult:
    script = _WRK_SCRIPT % (
        ", ".join(_lua_string(b) for b in spec.bodies),
        ", ".join(_lua_string(t) for t in spec.tokens),
        spec.path,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    url = f"http://{spec.host}:{spec.port}{spec.path}"
    base = [wrk, "-t1", f"-c{spec.concurrency}", "-s", f.name, "--timeout", "10s"]
    if spec.warmup_seconds > 0:
        subprocess.run([*base, f"-d{max(1, round(spec.warmup_seconds))}s", url], capture_output=True, check=False)
    out = subprocess.run(
        [*base, f"-d{max(1, round(spec.seconds))}s", url], capture_output=True, text=True, check=False
    ).stdout
    Path(f.name).unlink(missing_ok=True)
    line = next((ln for ln in out.splitlines() if ln.startswith("IMQL ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out[-1000:]}")
    _, requests, errors, duration_us, p50_us, p99_us = line.split()
    return LoadResult(
        requests=int(requests),
        errors=int(errors),
        rps=int(requests) / (int(duration_us) / 1e6),
        p50_ms=float(p50_us) / 1000,
        p99_ms=float(p99_us) / 1000,
        engine="wrk",
    )


def run_load(spec: LoadSpec, *, engine: str | None = None) -> LoadResult:
    """Drive the load from a separate process (or wrk), so the client has a core of its own.
    `engine`: "wrk", "python" or "auto" (wrk if installed); IMQL_BENCH_LOAD picks it by default."""
    engine = engine or os.environ.get("IMQL_BENCH_LOAD", "auto")
    wrk = shutil.which("wrk")
    if engine == "wrk" or (engine == "auto" and wrk):
        if wrk is None:
            raise RuntimeError("wrk is not installed")
        return _wrk_load(spec, wrk)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(asdict(spec), f)
    out = subprocess.run(
        [sys.executable, "-m", "bench.load", f.name], capture_output=True, text=True, check=True
    ).stdout
    Path(f.name).unlink(missing_ok=True)
    return LoadResult(**json.loads(out.strip().splitlines()[-1]))


def main(argv: list[str]) -> None:
    spec = LoadSpec(**json.loads(Path(argv[0]).read_text()))
    result = loop.run(_python_load(spec))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main(sys.argv[1:])
