"""The TypeScript client kit (clients/typescript) for tests: its npm dependencies installed once per
package-lock.json, the kit and its Node scenarios compiled once per source, and scenarios run as
real `node` processes against a gateway. Without node and npm, the tests using it are skipped.
The demo web chat (clients/demo, which links the kit) is installed the same way (`package=DEMO`).

Several pytest workers may ask at once: a file lock makes one install and build while the others
wait, and stamps (the lock file's hash in node_modules, the sources' hash in build/) let later
sessions skip what is already done."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

KIT = Path(__file__).resolve().parents[2] / "clients" / "typescript"
DEMO = KIT.parent / "demo"
BUILD = KIT / "build"
INSTALL_STAMP_NAME = ".imql-package-lock.sha256"  # in node_modules
BUILD_STAMP = BUILD / ".imql-sources.sha256"
SCENARIO_SECONDS = 60  # a hang guard for one node process, not a measurement


def missing_tools() -> str | None:
    """Why the kit cannot be used here, or None."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: the TypeScript kit's checks need Node.js >= 20 and npm"
    return None


@contextmanager
def exclusive(package: Path = KIT) -> Iterator[None]:
    """One process at a time installs or builds this checkout's `package` (pytest-xdist workers)."""
    name = hashlib.sha256(str(package).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"imql-node-kit-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(KIT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def run_tool(
    args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, package: Path = KIT
) -> subprocess.CompletedProcess[str]:
    """A node tool from `package`'s node_modules/.bin (npx without its network look-ups), run in
    `cwd` (default: the package)."""
    command = [str(package / "node_modules" / ".bin" / args[0]), *args[1:]]
    return subprocess.run(
        command,
        cwd=cwd or package,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def ensure_installed(package: Path = KIT) -> None:
    """`npm ci` when `package`'s node_modules does not match its package-lock.json (skips the test
    without node/npm)."""
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    want = hashlib.sha256((package / "package-lock.json").read_bytes()).hexdigest()
    stamp = package / "node_modules" / INSTALL_STAMP_NAME
    with exclusive(package):
        if stamp.is_file() and stamp.read_text() == want:
            return
        done = subprocess.run(
            ["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=package,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed in {package}:\n{done.stdout}\n{done.stderr}"
        stamp.write_text(want)


def ensure_built() -> Path:
    """The kit and its scenarios compiled to build/ (tsconfig.tests.json); returns build/tests."""
    ensure_installed()
    sources = [*KIT.glob("src/**/*.ts"), *KIT.glob("tests/**/*.ts"), *KIT.glob("tsconfig*.json")]
    want = _digest(sources)
    with exclusive():
        if not (BUILD_STAMP.is_file() and BUILD_STAMP.read_text() == want):
            shutil.rmtree(BUILD, ignore_errors=True)
            done = run_tool(["tsc", "-p", "tsconfig.tests.json"])
            assert done.returncode == 0, f"tsc failed:\n{done.stdout}\n{done.stderr}"
            BUILD_STAMP.write_text(want)
    return BUILD / "tests"


@dataclass
class ScenarioResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The scenario's result: the JSON line it printed last; the scenario must have succeeded."""
        assert self.returncode == 0, f"node scenario failed ({self.returncode}):\n{self.stderr}\n{self.stdout}"
        return json.loads(self.stdout.strip().splitlines()[-1])


async def run_scenario(scenarios: Path, name: str, env: dict[str, str]) -> ScenarioResult:
    """`node <scenarios>/<name>.js` (scenarios: ensure_built's answer) with `env` added, in the
    background of the test's event loop (an in-process gateway keeps serving meanwhile)."""
    script = scenarios / f"{name}.js"
    proc = await asyncio.create_subprocess_exec(
        "node",
        "--enable-source-maps",
        str(script),
        cwd=KIT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), SCENARIO_SECONDS)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
    return ScenarioResult(proc.returncode if proc.returncode is not None else -1, out.decode(), err.decode())
