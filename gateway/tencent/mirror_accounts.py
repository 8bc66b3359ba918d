"""Accounts and profiles from Tencent's webhooks into the mirror."""

from __future__ import annotations

from typing import Any

from gateway.tencent.inbound import PortraitSet
from gateway.tencent.mirror_writes import Applier, MirrorWrites
from gateway.upstream import from_upstream
from gateway.v4.profile import CUSTOM_PREFIX, is_sdk_field, tag_value


async def portrait_set(mirror: MirrorWrites, event: PortraitSet) -> None:
    """The changed tags the mirror does not hold yet (our own portrait_set comes back as an echo
    with the values the mirror already has: it changes nothing and tells nobody)."""
    user_id = event.from_account
    with from_upstream():
        known = await mirror.backend.accounts.get_users_info([user_id])
    if not known:
        return  # never seen here: fetched whole when someone first asks for it
    current = known[0]
    changed = [
        {"Tag": tag, "Value": value}
        for tag, value in event.items
        if (is_sdk_field(tag) or tag.startswith(CUSTOM_PREFIX)) and tag_value(tag, current, {}) != value
    ]
    if changed:
        await mirror.apply("profile/portrait_set", {"From_Account": user_id, "ProfileItem": changed})


APPLIERS: dict[type[Any], Applier] = {PortraitSet: portrait_set}
