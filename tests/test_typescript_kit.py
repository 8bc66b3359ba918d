"""The TypeScript client kit (clients/typescript) against the checked-in schema: its committed
generated code is what graphql-codegen makes now, it type-checks (`tsc --noEmit`), and the types
catch a wrong call (createTextMessage without its required `text`). Skipped without node and npm."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.support.node_kit import KIT, ensure_installed, run_tool


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    ensure_installed()
    done = run_tool(["graphql-codegen", "--config", "codegen.ts"], env={"IMQL_CODEGEN_OUT": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    committed = sorted(p.name for p in (KIT / "src" / "generated").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == committed == ["graphql.ts", "schema.ts"]
    for name in committed:
        fresh, kept = (tmp_path / name).read_text(), (KIT / "src" / "generated" / name).read_text()
        assert fresh == kept, f"src/generated/{name} is stale: run `npm run codegen` in clients/typescript"


def test_the_kit_type_checks() -> None:
    ensure_installed()
    done = run_tool(["tsc", "--noEmit"])
    assert done.returncode == 0, done.stdout + done.stderr


CALLS = """\
import {{ ApolloClient, HttpLink, InMemoryCache }} from "@apollo/client";
import {{ CreateTextMessageDocument }} from "{kit}/src/generated/graphql.js";

const client = new ApolloClient({{ cache: new InMemoryCache(), link: new HttpLink({{ uri: "/graphql" }}) }});
export const right = client.mutate({{ mutation: CreateTextMessageDocument, variables: {{ text: "hi" }} }});
export const wrong = client.mutate({{ mutation: CreateTextMessageDocument, variables: {{}} }});
"""


def test_a_call_without_the_required_text_does_not_compile(tmp_path: Path) -> None:
    ensure_installed()
    (tmp_path / "node_modules").symlink_to(KIT / "node_modules")
    kit = os.path.relpath(KIT, tmp_path)
    (tmp_path / "package.json").write_text('{"type": "module"}')  # an ES module, as the kit's own files
    (tmp_path / "calls.ts").write_text(CALLS.format(kit=kit))
    (tmp_path / "tsconfig.json").write_text(
        f'{{"extends": "{KIT / "tsconfig.json"}", "compilerOptions": {{"types": []}}, "include": ["calls.ts"]}}'
    )
    done = run_tool(["tsc", "--noEmit", "-p", str(tmp_path)], cwd=tmp_path)
    assert done.returncode != 0
    errors = re.findall(r"^calls\.ts\((\d+),\d+\): error (TS\d+): (.*)$", done.stdout, re.MULTILINE)
    # only the wrong call fails (line 6), and because `text` is missing
    assert [line for line, _, _ in errors] == ["6"], done.stdout
    assert "'text' is missing" in done.stdout, done.stdout


def test_the_kit_is_formatted() -> None:
    ensure_installed()
    done = run_tool(["prettier", "--check", "."])
    assert done.returncode == 0, f"run `npm run format` in clients/typescript:\n{done.stdout}{done.stderr}"
