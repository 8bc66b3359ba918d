"""App-wide pushes: `all_member_push/*`."""

from __future__ import annotations

from gateway.engine.rest.registry import Commands

all_member_push = Commands("all_member_push", invalid_code=90009)

REGISTRIES = (all_member_push,)
