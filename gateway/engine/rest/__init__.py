"""Tencent's server REST API v4, served by the embedded engine (`gateway.backend.ServerAPI`).

An app's own servers call it exactly as they call Tencent (`POST /v4/<service>/<command>`, admin
UserSig, JSON bodies, the `ActionStatus`/`ErrorCode`/`ErrorInfo` envelope), and every write is a
real IM action: the listeners of the users concerned hear of it as they would of an SDK call. The
web layer (`gateway.web.rest`) authenticates the admin and reads the body; this package decodes
the command, runs it on the engine's parts, and answers in Tencent's shape.

One module per Tencent service; each declares its commands on a `Commands` (registry.py).
Checks that Tencent skips for the admin (friendship and blacklist on sendmsg, mutes, group roles)
are skipped the same way; every other rule of the engine holds.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.engine.rest import accounts, conversations, friendship, group_messages, groups, messages, push
from gateway.engine.rest.context import RestContext
from gateway.engine.rest.registry import Command
from gateway.errors import Code, IMError
from gateway.v4 import envelope
from gateway.v4.fields import Body

log = logging.getLogger("imql.rest")

SERVICES = (accounts, messages, friendship, conversations, groups, group_messages, push)


def all_commands() -> dict[str, Command]:
    table: dict[str, Command] = {}
    for module in SERVICES:
        for registry in module.REGISTRIES:
            for path, command in registry.commands.items():
                if path in table:
                    raise ValueError(f"REST command {path} declared twice")
                table[path] = command
    return table


class EmbeddedServerAPI:
    """Runs REST v4 commands on the embedded engine."""

    def __init__(self, context: RestContext) -> None:
        self._context = context
        self._commands = all_commands()

    def has(self, command: str) -> bool:
        return command in self._commands

    def commands(self) -> list[str]:
        return sorted(self._commands)

    async def call(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        found = self._commands.get(command)
        if found is None:
            return envelope.fail(envelope.URL_INVALID, f"unknown REST command {command!r}")
        try:
            fields = await found.handler(self._context, Body(body, found.invalid_code))
        except IMError as exc:
            code = found.invalid_code if exc.code == Code.ERR_INVALID_PARAMETERS else exc.code
            return envelope.fail(code, exc.desc)
        status = fields.pop("ActionStatus", envelope.OK)
        return envelope.ok(fields, status=status)
