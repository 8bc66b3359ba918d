"""The embedded GroupManager: one object over the group parts (life, members, applications, extras)."""

from __future__ import annotations

from typing import Any

from gateway.clock import Clock
from gateway.engine.announcer import Announcer
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.errors import maps_store_errors
from gateway.engine.friendship import Friendship
from gateway.engine.groups.applications import GroupApplications
from gateway.engine.groups.extras import GroupExtras
from gateway.engine.groups.lifecycle import GroupLifecycle
from gateway.engine.groups.members import GroupMembers
from gateway.engine.groups.store import GroupStore
from gateway.engine.profiles import Profiles
from gateway.events.bus import EventBus
from gateway.keys import Keys


@maps_store_errors
class EmbeddedGroups(GroupLifecycle, GroupMembers, GroupApplications, GroupExtras):
    """Each part reads and tells through the one GroupStore `self.store`."""

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
    ) -> None:
        self.store = GroupStore(redis, keys, bus, clock, profiles, friendship, announcer, callbacks)
        self.lifecycle = self
