"""The demo web chat's sources (clients/demo, on the TypeScript kit in clients/typescript) against
what `imql serve` serves from gateway/demo: the demo type-checks (`tsc --noEmit`, the kit's
documents and helpers included) and a fresh vite build is byte for byte the committed assets, so
a change to the demo, or to a kit document or helper it uses, fails here until
`scripts/build-demo.sh` has been run and its output committed. Skipped without node and npm."""

from __future__ import annotations

import filecmp
from pathlib import Path

from tests.support.node_kit import DEMO, KIT, ensure_installed, exclusive, run_tool

COMMITTED = DEMO.parents[1] / "gateway" / "demo"


def _files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_demo_type_checks_and_builds_to_the_committed_assets(tmp_path: Path) -> None:
    ensure_installed(DEMO)
    out = tmp_path / "demo"
    # the demo compiles the kit through its link, whose node_modules the kit's own `npm ci` may be
    # replacing in another worker: not meanwhile
    with exclusive(KIT):
        typed = run_tool(["tsc", "--noEmit"], package=DEMO)
        built = run_tool(["vite", "build", "--outDir", str(out), "--emptyOutDir", "--logLevel", "warn"], package=DEMO)
    assert typed.returncode == 0, typed.stdout + typed.stderr
    assert built.returncode == 0, built.stdout + built.stderr
    fresh, committed = _files(out), _files(COMMITTED)
    stale = "gateway/demo is stale: run scripts/build-demo.sh and commit gateway/demo"
    assert sorted(fresh) == sorted(committed), stale
    assert [name for name in fresh if not filecmp.cmp(fresh[name], committed[name], shallow=False)] == [], stale
