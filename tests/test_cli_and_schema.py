"""The `imql` command and the schema file kept for codegen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.config import DEV_SDKAPPID, DEV_SECRET_KEY
from gateway.usersig import verify
from schema.sdl import SDL_PATH, export_sdl
from tests.support.clients import HTTPClient, WSClient, subscribe_sdk
from tests.support.servers import spawn_gateway

ROOT = Path(__file__).resolve().parent.parent
COVERAGE_TOOL = ROOT.parent / "shared" / "tools" / "api_coverage.py"


def imql(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_schema_file_matches_the_code() -> None:
    assert SDL_PATH.read_text("utf-8") == export_sdl(), "run: imql schema > schema/schema.graphql"


def test_imql_schema_prints_the_sdl() -> None:
    done = imql("schema")
    assert done.returncode == 0
    assert done.stdout == export_sdl()


def test_imql_usersig_mints_a_sig_for_the_configured_app() -> None:
    done = imql("usersig", "alice", "--expire", "600", env={"IMQL_SDKAPPID": "1400000777", "IMQL_SECRET_KEY": "k"})
    assert done.returncode == 0
    info = verify(done.stdout.strip(), sdkappid=1400000777, secret_key="k", user_id="alice", now=time.time())
    assert info.expire_seconds == 600
    assert imql("usersig", "bad user\n").returncode == 2
    assert imql("usersig", "x", env={"IMQL_SDKAPPID": "nope"}).returncode == 2


@pytest.mark.e2e
async def test_imql_serve_with_no_configuration_says_how_to_start() -> None:
    env = dict.fromkeys(("IMQL_REDIS_URL", "IMQL_SDKAPPID", "IMQL_SECRET_KEY"), "")
    proc = await spawn_gateway(env)
    # the embedded store works: a whole login and a profile round trip, events included
    client = HTTPClient(proc.base_url, DEV_SDKAPPID, DEV_SECRET_KEY)
    token = await client.login("alice")
    ws = await WSClient.connect(proc.ws_url, token)
    op = await subscribe_sdk(ws)
    await client.gql('mutation { setSelfInfo(nickName: "embedded") { userID } }', token=token)
    assert (await ws.next_event(op))["info"]["nickName"] == "embedded"
    await ws.close()
    await client.aclose()
    proc.terminate()
    output = proc.output
    assert f"SDKAppID {DEV_SDKAPPID}" in output
    assert DEV_SECRET_KEY in output
    assert "imql usersig <userID>" in output
    assert f"http://127.0.0.1:{proc.port}/graphql" in output
    assert "nothing is persisted" in output


@pytest.mark.skipif(not COVERAGE_TOOL.exists(), reason="../shared is not beside this checkout")
def test_api_coverage_is_complete() -> None:
    done = subprocess.run(
        [sys.executable, str(COVERAGE_TOOL), str(SDL_PATH), "--json"], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    complete = (
        "V2TIMManager",
        "V2TIMGroupManager",
        "V2TIMConversationManager",
        "V2TIMFriendshipManager",
        "V2TIMSignalingManager",
        "V2TIMOfflinePushManager",
        "V2TIMMessageManager",
    )
    for name in complete:
        manager = report["managers"][name]
        assert (manager["missing"], manager["wrong_kind"], manager["missing_args"]) == ([], [], {}), name
    listeners = report["listeners"]
    assert listeners["sdkListener"] == {"present": True, "callbacks": 7, "event_types": 7}
    assert listeners["advancedMsgListener"] == {"present": True, "callbacks": 7, "event_types": 7}
    assert listeners["groupListener"] == {"present": True, "callbacks": 20, "event_types": 20}
    assert listeners["friendshipListener"] == {"present": True, "callbacks": 8, "event_types": 8}
    assert listeners["conversationListener"] == {"present": True, "callbacks": 13, "event_types": 13}
    assert listeners["signalingListener"] == {"present": True, "callbacks": 6, "event_types": 6}
    assert report["enums_missing"] == []


def test_argument_names_are_remembered_per_argument() -> None:
    """The schema's name converter converts each argument once; distinct arguments keep their own names."""
    from strawberry.annotation import StrawberryAnnotation
    from strawberry.types.arguments import StrawberryArgument

    from schema.names import RememberingNameConverter

    converter = RememberingNameConverter()
    text = StrawberryAnnotation(str)
    online = StrawberryArgument(python_name="online_user_only", graphql_name=None, type_annotation=text)
    named = StrawberryArgument(python_name="receiver", graphql_name="to", type_annotation=text)
    assert converter.from_argument(online) == "onlineUserOnly"
    assert converter.from_argument(named) == "to"
    online.python_name = "changed"  # never happens after the schema is built: proves the name is kept
    assert converter.from_argument(online) == "onlineUserOnly"
    assert converter.from_argument(named) == "to"
