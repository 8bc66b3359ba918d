"""One server's side of a scenario in a process of its own, driven by the scenario's process.

A process may hold only RLIMIT_NOFILE sockets (20,000 here, and raising the hard limit takes
CAP_SYS_RESOURCE), and a scenario that keeps 10,000 subscribers on imql and 10,000 on the peer
open at once, so that their sends can take turns, needs more. So each side (its servers, its
clients, its data: a Bench of its own, with its own SDKAppID) runs in a child process:

    python -m bench.sides <scenario module> <side name> <the Bench's settings, JSON>

The module's `async def side(bench, name)` builds the side; its public coroutine methods are the
operations. The parent sends one JSON line per call on the child's stdin,
`{"op": name, "args": {...}}`, and reads one JSON line back: `{"result": ...}` or
`{"error": traceback}`. The child's stdout is kept for these answers (anything else it prints goes
to stderr); EOF on stdin ends it, and its Bench deletes what it wrote. Times are
`time.perf_counter()` (CLOCK_MONOTONIC: one clock for every process of the machine), but each
side's figures are computed in its own process anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import traceback
from typing import IO, Any

from bench import loop
from bench.harness import Bench


class SideProcess:
    """The scenario process's handle on one side running in a child."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name, self.proc = name, proc

    @classmethod
    async def start(cls, module: str, name: str, bench: Bench) -> SideProcess:
        """The side `name` of scenario `module`, on a Bench made like `bench` (its store, flags)."""
        argv = [sys.executable, "-m", "bench.sides", module, name, json.dumps(bench.config())]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24
        )
        return cls(name, proc)

    async def call(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, "args": args}).encode() + b"\n")
        await self.proc.stdin.drain()
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} side ended (exit {await self.proc.wait()}) during {op}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the {self.name} side failed in {op}:\n{answer['error']}")
        return answer["result"]

    async def close(self) -> None:
        """End the child (it cleans up after itself first)."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        await self.proc.wait()


async def serve(module: str, name: str, config: dict[str, Any], answers: IO[str]) -> None:
    scenario = module.rsplit(".", 1)[-1].replace("_", "-")
    bench = Bench(scenario, **config)
    print(f"bench: {scenario}, {name} side, on {bench.redis_url}, SDKAppID {bench.sdkappid}", file=sys.stderr)
    async with bench.running():
        handler = await importlib.import_module(module).side(bench, name)
        while line := await asyncio.to_thread(sys.stdin.readline):
            request = json.loads(line)
            try:
                result = await getattr(handler, request["op"])(**request["args"])
                answer: dict[str, Any] = {"result": result}
            except Exception:
                answer = {"error": traceback.format_exc()}
            answers.write(json.dumps(answer) + "\n")
            answers.flush()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sides")
    parser.add_argument("module")
    parser.add_argument("name")
    parser.add_argument("config", help="the Bench's settings, JSON (Bench.config)")
    args = parser.parse_args()
    # the answers keep the real stdout; whatever else prints goes to stderr
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # uvloop (bench.loop): a side's thousands of clients read their frames at a fraction of the
    # selector loop's cost per socket, so the figures measure the server, not the client
    # (group-fanout: ~21 µs per received message with the selector loop, as much as the server
    # spent per delivery)
    loop.run(serve(args.module, args.name, json.loads(args.config), answers))


if __name__ == "__main__":
    main()
