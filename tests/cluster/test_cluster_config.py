"""IMQL_REDIS_CLUSTER, IMQL_REDIS_WAIT_REPLICAS and `imql serve --workers`, checked at start with a
sentence that says what is wrong (the names are the contract: docs/scaling.md, README)."""

from __future__ import annotations

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_settings

NODE = "redis://10.0.0.5:6379"


def test_cluster_mode_and_wait_replicas_are_read() -> None:
    settings = load_settings({"IMQL_REDIS_URL": NODE, "IMQL_REDIS_CLUSTER": "1", "IMQL_REDIS_WAIT_REPLICAS": "1"})
    assert (settings.redis_url, settings.redis_cluster, settings.redis_wait_replicas) == (NODE, True, 1)
    plain = load_settings({"IMQL_REDIS_URL": NODE})
    assert (plain.redis_cluster, plain.redis_wait_replicas) == (False, 0)
    assert not load_settings({"IMQL_REDIS_URL": NODE, "IMQL_REDIS_CLUSTER": "off"}).redis_cluster


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"IMQL_REDIS_CLUSTER": "1"}, "IMQL_REDIS_CLUSTER=1 needs IMQL_REDIS_URL"),
        ({"IMQL_REDIS_CLUSTER": "1", "IMQL_REDIS_URL": "unix:///run/redis.sock"}, "a cluster speaks TCP"),
        ({"IMQL_REDIS_CLUSTER": "1", "IMQL_REDIS_URL": f"{NODE}/2"}, "database 0 only"),
        ({"IMQL_REDIS_CLUSTER": "maybe", "IMQL_REDIS_URL": NODE}, "IMQL_REDIS_CLUSTER must be 1 or 0"),
        ({"IMQL_REDIS_WAIT_REPLICAS": "1"}, "IMQL_REDIS_WAIT_REPLICAS needs IMQL_REDIS_URL"),
        ({"IMQL_REDIS_WAIT_REPLICAS": "-1", "IMQL_REDIS_URL": NODE}, "IMQL_REDIS_WAIT_REPLICAS must be 0..16"),
        ({"IMQL_REDIS_WAIT_REPLICAS": "two", "IMQL_REDIS_URL": NODE}, "must be an integer"),
    ],
)
def test_bad_cluster_settings_are_refused_with_a_reason(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings(env)


def test_serve_refuses_a_worker_count_out_of_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMQL_REDIS_URL", NODE)
    assert main(["serve", "--workers", "0"]) == 2
    assert "--workers must be 1..64" in capsys.readouterr().err
