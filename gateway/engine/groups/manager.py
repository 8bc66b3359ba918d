"""The embedded GroupManager: one object over the group parts (life, members, applications, extras)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.clock import Clock
from gateway.engine.announcer import Announcer
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.errors import maps_store_errors
from gateway.engine.friendship import Friendship
from gateway.engine.groups.applications import GroupApplications
from gateway.engine.groups.extras import GroupExtras
from gateway.engine.groups.imports import GroupImports
from gateway.engine.groups.lifecycle import GroupLifecycle
from gateway.engine.groups.members import GroupMembers
from gateway.engine.groups.store import GroupStore
from gateway.engine.profiles import Profiles
from gateway.events.bus import EventBus
from gateway.keys import Keys
from gateway.upstream import Upstream


@maps_store_errors
class EmbeddedGroups(GroupLifecycle, GroupMembers, GroupApplications, GroupExtras, GroupImports):
    """Each part reads and tells through the one GroupStore `self.store`. With an upstream IM server
    (gateway.upstream), SDK users' writes go there first and groups it has that the mirror lacks
    are imported (GroupImports)."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        profiles: Profiles,
        friendship: Friendship,
        announcer: Announcer,
        callbacks: Callbacks | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        self.store = GroupStore(redis, keys, bus, clock, profiles, friendship, announcer, callbacks, upstream)
        self.lifecycle = self

    async def know_groups(
        self, group_ids: Sequence[str], *, joined: Sequence[str] = (), operator: str = "", by_self: bool = False
    ) -> None:
        """`GroupManager.know_groups`: an imported group's members that the upstream reports as
        just joined are announced (tips and events) as their joining would be here."""
        for gid in await self.import_missing(group_ids):
            present = [uid for uid in dict.fromkeys(joined) if await self.store.member(gid, uid) is not None]
            if not present:
                continue
            group = await self.store.info(gid)
            if by_self:
                for uid in present:
                    await self.announce_entered(group, uid)
            else:
                await self._announce_invited(group, operator, present)
