"""The profile tags of the REST server: the wire vocabulary (gateway.v4.profile) with the engine's
own limits on what a portrait_set may write."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.engine.profiles import validate_changes
from gateway.errors import Code, IMError
from gateway.v4.fields import Body
from gateway.v4.profile import (
    VALUE_INVALID,
    ProfileWrite,
    profile_items,
    read_profile_items,
    tags_to_read,
)

__all__ = ["ProfileWrite", "profile_items", "read_profile_write", "tags_to_read"]


def read_profile_write(items: Sequence[Body]) -> ProfileWrite:
    """Every item read and checked, and the SDK change validated as setSelfInfo validates it,
    before anything is written; a refusal names the item."""
    write = read_profile_items(items)
    try:
        validate_changes(write.changes)
    except IMError as exc:
        # over-long strings keep their code (40601); a malformed value is Tencent's 40605
        raise IMError(VALUE_INVALID if exc.code == Code.ERR_INVALID_PARAMETERS else exc.code, exc.desc) from None
    return write
