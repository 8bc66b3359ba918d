"""Groups: `group_open_http_svc/*` (lifecycle, profile, members, roles, mutes, owner),
`group_open_attr_http_svc/*` (attributes) and `million_group_open_http_svc/*` (topics)."""

from __future__ import annotations

from gateway.engine.rest.registry import Commands

group_svc = Commands("group_open_http_svc", invalid_code=10004)
attr_svc = Commands("group_open_attr_http_svc", invalid_code=10004)
topic_svc = Commands("million_group_open_http_svc", invalid_code=10004)

REGISTRIES = (group_svc, attr_svc, topic_svc)
