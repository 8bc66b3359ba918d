"""Relationships: `sns/*` (friends, blacklist, friend groups)."""

from __future__ import annotations

from gateway.engine.rest.registry import Commands

sns = Commands("sns", invalid_code=30001)

REGISTRIES = (sns,)
