"""The session controls the server API lends from the session layer (`gateway.backend.SessionControl`):
Tencent's REST `kick` and `query_online_status` act on gateway sessions, which no backend owns."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.session.pool import SessionPool
from gateway.session.presence import Presence


class GatewaySessionControl:
    def __init__(self, sessions: SessionPool, presence: Presence) -> None:
        self._sessions = sessions
        self._presence = presence

    async def kick(self, user_id: str) -> None:
        await self._sessions.kick_all(user_id)

    async def online_status(self, user_ids: Sequence[str]) -> list[tuple[str, list[str]]]:
        users = list(user_ids)
        online = await self._presence.online(users)
        platforms = await self._sessions.platforms(users)
        result = []
        for live, on in zip(online, platforms, strict=True):
            state = "Online" if live else "PushOnline" if on else "Offline"
            result.append((state, on))
        return result
