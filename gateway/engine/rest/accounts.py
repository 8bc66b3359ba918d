"""Accounts and profiles: `im_open_login_svc/*`, `openim/query_online_status`, `profile/*`."""

from __future__ import annotations

from gateway.engine.rest.registry import Commands

login_svc = Commands("im_open_login_svc", invalid_code=70402)
profile = Commands("profile", invalid_code=40001)
online = Commands("openim", invalid_code=90009)

REGISTRIES = (login_svc, profile, online)
