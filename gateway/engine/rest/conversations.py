"""Recent contacts (the server's conversation list): `recentcontact/*`."""

from __future__ import annotations

from gateway.engine.rest.registry import Commands

recentcontact = Commands("recentcontact", invalid_code=50001)

REGISTRIES = (recentcontact,)
