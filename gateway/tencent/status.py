"""Native users' online status: what Tencent says, for getUserStatus and onUserStatusChanged.

imql users are never connected to Tencent (the gateway calls REST for them), so their status is
the gateway's own (gateway.session.status); a native user's comes from Tencent: State.StateChange
webhooks as they happen (Login → online, Disconnect → offline, Logout → logged out), and
`openim/query_online_status` for a user no webhook has told of lately. Both are kept in Redis for a
while (a webhook's report longer than an answer's, since it is news), so a status read costs no
REST call in the common case.

Tencent's states map to V2TIM's as the SDK shows them: `Online` is ONLINE, `PushOnline` (logged in,
reachable by offline push only) is OFFLINE, `Offline` is UNLOGINED; an account Tencent does not
have (70107 in ErrorList) is unknown (None). Custom status set on native devices has no REST and is
not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.im.enums import UserStatusType
from gateway.keys import Keys
from gateway.tencent.client import TencentRestClient
from gateway.upstream import StatusUpstream

QUERY_MAX = 500  # To_Account per query_online_status
REPORTED_TTL_SECONDS = 600  # a webhook's report: until the next one (a lost Logout ages out)
QUERIED_TTL_SECONDS = 30  # an answer to a query: a short cache in front of REST
TENCENT_STATES = {
    "Online": UserStatusType.V2TIM_USER_STATUS_ONLINE,
    "PushOnline": UserStatusType.V2TIM_USER_STATUS_OFFLINE,
    "Offline": UserStatusType.V2TIM_USER_STATUS_UNLOGINED,
}
STATE_CHANGE_ACTIONS = {
    "Login": UserStatusType.V2TIM_USER_STATUS_ONLINE,
    "Disconnect": UserStatusType.V2TIM_USER_STATUS_OFFLINE,
    "Logout": UserStatusType.V2TIM_USER_STATUS_UNLOGINED,
}
_UNKNOWN = "unknown"  # cached: Tencent has no such account


class TencentStatus(StatusUpstream):
    def __init__(self, client: TencentRestClient, redis: Any, keys: Keys) -> None:
        self._client = client
        self._redis = redis
        self._keys = keys

    async def statuses(self, user_ids: Sequence[str]) -> list[UserStatusType | None]:
        cached = await self._redis.mget([self._keys.tencent_status(u) for u in user_ids]) if user_ids else []
        found: dict[str, UserStatusType | None] = {}
        for user_id, raw in zip(user_ids, cached, strict=True):
            if raw is not None:
                found[user_id] = None if raw == _UNKNOWN else UserStatusType(int(raw))
        missing = [u for u in dict.fromkeys(user_ids) if u not in found]
        for start in range(0, len(missing), QUERY_MAX):
            found.update(await self._query(missing[start : start + QUERY_MAX]))
        return [found.get(u) for u in user_ids]

    async def _query(self, user_ids: list[str]) -> dict[str, UserStatusType | None]:
        answer = await self._client.call("openim/query_online_status", {"To_Account": user_ids}, idempotent=True)
        result: dict[str, UserStatusType | None] = dict.fromkeys(user_ids)
        for item in answer.result_items("QueryResult") if answer.get("QueryResult") else []:
            user_id = item.get("To_Account")
            state = item.get("Status", item.get("State"))  # Tencent's sample says State, its table Status
            if isinstance(user_id, str) and state in TENCENT_STATES:
                result[user_id] = TENCENT_STATES[state]
        pipe = self._redis.pipeline(transaction=False)
        for user_id, status in result.items():
            value = _UNKNOWN if status is None else str(int(status))
            pipe.set(self._keys.tencent_status(user_id), value, ex=QUERIED_TTL_SECONDS)
        await pipe.execute()
        return result

    async def reported(self, user_id: str, action: str) -> bool:
        """A State.StateChange of a native user; whether it was one imql knows."""
        status = STATE_CHANGE_ACTIONS.get(action)
        if status is None:
            return False
        await self._redis.set(self._keys.tencent_status(user_id), str(int(status)), ex=REPORTED_TTL_SECONDS)
        return True
