"""The Tencent Cloud backend's relation chain: `gateway.upstream.FriendshipUpstream` over REST v4 `sns/*`.

Each method is one call (or a few, within Tencent's batch caps) with the user as `From_Account`.
Per-user results come back as V2TIM results, Tencent's code mapped as every other error is
(gateway.tencent.errors) and kept in the result's text. The mirror's callers write only what
Tencent accepted (docs/tencent-design.md).

What REST has no endpoint for is composed here (MAPPING.md section 3.6): a friend group is renamed
by creating the new one with the members and deleting the old one (not atomic: a failed delete is
undone by deleting the new one), and friends move between groups by `friend_update` of their whole
group list. Friend requests have no REST at all; the engine keeps them (gateway.engine.friendship).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.errors import IMError
from gateway.im.enums import FriendAddType, FriendRelationType
from gateway.im.model import FriendChanges, FriendCheckResult, FriendOperationResult
from gateway.tencent.client import Answer, TencentRestClient, bad_answer
from gateway.tencent.errors import ACCOUNT_MISSING_CODES, TencentError, tencent_error
from gateway.upstream import FriendAddition, FriendshipUpstream, RelationChain, UpstreamFriend
from gateway.v4 import sns

ACCOUNTS_MAX = 1000  # To_Account per friend_delete, friend_check, black_list_add / _delete (MAPPING.md section 8)
UPDATE_ITEMS_MAX = 100  # UpdateItem per friend_update (imql's cap; Tencent documents none)
BLACK_LIST_PAGE = 1000  # MaxLimited per black_list_get page
# friend_get pages hold 100 friends and a list at most 3,000 (Tencent's limits): a bound on a paging
# loop whose NextStartIndex does not move on
PAGES_MAX = 100
ALREADY_BLOCKED = "Already_Exist"  # black_list_add's ResultInfo for someone blocked already (code 30001)
RELATION_TYPES = {name: relation for relation, name in sns.RELATIONS.items()}


def _results(answer: Answer, accounts: Sequence[str], *, ok_info: str = "") -> list[FriendOperationResult]:
    """`ResultItem` as V2TIM results, one per account asked about, in the order asked; a code Tencent
    gave no item for counts as done. `ok_info`: a failure whose ResultInfo contains it is a success."""
    by_account: dict[str, FriendOperationResult] = {}
    for item in answer.result_items("ResultItem"):
        account = item.get("To_Account")
        code = item.get("ResultCode", 0)
        if not isinstance(account, str) or not isinstance(code, int) or isinstance(code, bool):
            raise bad_answer(answer.endpoint, "ResultItem[] without To_Account or ResultCode")
        info = str(item.get("ResultInfo") or "")
        if code == 0 or (ok_info and ok_info in info):
            by_account[account] = FriendOperationResult(userID=account)
        elif code == sns.PENDING:
            by_account[account] = FriendOperationResult(userID=account, resultCode=code, resultInfo=info)
        else:
            error = tencent_error(code, info, answer.endpoint)
            by_account[account] = FriendOperationResult(userID=account, resultCode=error.code, resultInfo=error.desc)
    return [by_account.get(a) or FriendOperationResult(userID=a) for a in accounts]


def _batches(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _friend(item: dict[str, Any]) -> UpstreamFriend | None:
    """One `UserDataItem` of friend_get; None for an item without an account."""
    user_id = item.get("To_Account")
    if not isinstance(user_id, str) or not user_id:
        return None
    values: dict[str, Any] = {}
    custom: list[tuple[str, str]] = []
    for entry in item.get("ValueItem") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("Tag"), str):
            continue
        tag, value = entry["Tag"], entry.get("Value")
        if tag.startswith(sns.CUSTOM_PREFIX):
            custom.append((tag[len(sns.CUSTOM_PREFIX) :], value if isinstance(value, str) else str(value)))
        else:
            values[tag] = value
    groups = values.get(sns.TAG_GROUP)
    add_time = values.get(sns.TAG_ADD_TIME)
    return UpstreamFriend(
        user_id=user_id,
        remark=_text(values.get(sns.TAG_REMARK)),
        groups=tuple(g for g in groups if isinstance(g, str) and g) if isinstance(groups, list) else (),
        custom=tuple(custom),
        add_time=add_time if isinstance(add_time, int) and not isinstance(add_time, bool) else 0,
        add_source=_text(values.get(sns.TAG_ADD_SOURCE)),
        add_wording=_text(values.get(sns.TAG_ADD_WORDING)),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class TencentFriendship(FriendshipUpstream):
    def __init__(self, client: TencentRestClient) -> None:
        self._client = client

    async def add_friend(
        self, user_id: str, addition: FriendAddition, add_type: FriendAddType, *, force: bool
    ) -> FriendOperationResult:
        """ForceAddFlags 0 for a user's own request, so Tencent applies the target's AllowType and
        blacklists (30539: a request now waits); 1 for an accepted request."""
        item: dict[str, Any] = {
            "To_Account": addition.target,
            "AddSource": sns.add_source_for_rest(addition.add_source),
        }
        if addition.remark:
            item["Remark"] = addition.remark
        if addition.friend_group:
            item["GroupName"] = addition.friend_group
        if addition.add_wording:
            item["AddWording"] = addition.add_wording
        body = {
            "From_Account": user_id,
            "AddFriendItem": [item],
            "AddType": sns.type_name(sns.ADD_TYPES, add_type),
            "ForceAddFlags": 1 if force else 0,
        }
        # sent again after a lost answer, an add finds the friendship (or the request) made: the same state
        answer = await self._client.call("sns/friend_add", body, idempotent=True)
        return _results(answer, [addition.target])[0]

    async def delete_friends(
        self, user_id: str, user_ids: Sequence[str], delete_type: FriendAddType
    ) -> list[FriendOperationResult]:
        results: list[FriendOperationResult] = []
        for batch in _batches(list(dict.fromkeys(user_ids)), ACCOUNTS_MAX):
            body = {
                "From_Account": user_id,
                "To_Account": batch,
                "DeleteType": sns.type_name(sns.DELETE_TYPES, delete_type),
            }
            results += _results(await self._client.call("sns/friend_delete", body), batch)
        return results

    async def check_friends(
        self, user_id: str, user_ids: Sequence[str], check_type: FriendAddType
    ) -> list[FriendCheckResult]:
        wanted = list(dict.fromkeys(user_ids))
        found: dict[str, FriendCheckResult] = {}
        for batch in _batches(wanted, ACCOUNTS_MAX):
            body = {
                "From_Account": user_id,
                "To_Account": batch,
                "CheckType": sns.type_name(sns.CHECK_TYPES, check_type),
            }
            answer = await self._client.call("sns/friend_check", body, idempotent=True)
            for item in answer.result_items("InfoItem"):
                account, relation = item.get("To_Account"), RELATION_TYPES.get(str(item.get("Relation")))
                if not isinstance(account, str) or relation is None:
                    raise bad_answer(answer.endpoint, "InfoItem[] without To_Account or a known Relation")
                code = item.get("ResultCode", 0)
                result = FriendCheckResult(userID=account, resultType=relation)
                if isinstance(code, int) and code:
                    error = tencent_error(code, str(item.get("ResultInfo") or ""), answer.endpoint)
                    result = FriendCheckResult(
                        userID=account,
                        resultCode=error.code,
                        resultInfo=error.desc,
                        resultType=FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_NONE,
                    )
                found[account] = result
        none = FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_NONE
        return [found.get(u) or FriendCheckResult(userID=u, resultType=none) for u in user_ids]

    async def check_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[bool]:
        blocked: set[str] = set()
        for batch in _batches(list(dict.fromkeys(user_ids)), ACCOUNTS_MAX):
            body = {"From_Account": user_id, "To_Account": batch, "CheckType": "BlackCheckResult_Type_Single"}
            answer = await self._client.call("sns/black_list_check", body, idempotent=True)
            for item in answer.result_items("BlackListCheckItem"):
                relation = item.get("Relation")
                if relation in ("BlackCheckResult_Type_AWithB", "BlackCheckResult_Type_BothWay"):
                    blocked.add(str(item.get("To_Account")))
        return [u in blocked for u in user_ids]

    async def update_friend(self, user_id: str, friend_id: str, changes: FriendChanges) -> None:
        items: list[dict[str, Any]] = []
        if changes.friendRemark is not None:
            items.append({"Tag": sns.TAG_REMARK, "Value": changes.friendRemark})
        for key, value in (changes.friendCustomInfo or {}).items():
            items.append({"Tag": sns.CUSTOM_PREFIX + key, "Value": value})
        if items:
            await self._update(user_id, {friend_id: items}, raise_first=True)

    async def update_friend_groups(
        self, user_id: str, groups: Mapping[str, Sequence[str]]
    ) -> list[FriendOperationResult]:
        return await self._update(
            user_id, {uid: [{"Tag": sns.TAG_GROUP, "Value": list(g)}] for uid, g in groups.items()}
        )

    async def _update(
        self, user_id: str, items: dict[str, list[dict[str, Any]]], *, raise_first: bool = False
    ) -> list[FriendOperationResult]:
        results: list[FriendOperationResult] = []
        for batch in _batches(list(items), UPDATE_ITEMS_MAX):
            body = {
                "From_Account": user_id,
                "UpdateItem": [{"To_Account": uid, "SnsItem": items[uid]} for uid in batch],
            }
            # a friend's fields set to values: sending them again sets the same values
            results += _results(await self._client.call("sns/friend_update", body, idempotent=True), batch)
        if raise_first:
            for result in results:
                if result.resultCode:
                    raise IMError(result.resultCode, result.resultInfo)
        return results

    async def add_to_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]:
        results: list[FriendOperationResult] = []
        for batch in _batches(list(dict.fromkeys(user_ids)), ACCOUNTS_MAX):
            answer = await self._client.call("sns/black_list_add", {"From_Account": user_id, "To_Account": batch})
            results += _results(answer, batch, ok_info=ALREADY_BLOCKED)
        return results

    async def delete_from_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]:
        results: list[FriendOperationResult] = []
        for batch in _batches(list(dict.fromkeys(user_ids)), ACCOUNTS_MAX):
            answer = await self._client.call("sns/black_list_delete", {"From_Account": user_id, "To_Account": batch})
            results += _results(answer, batch)
        return results

    async def create_friend_group(self, user_id: str, name: str, user_ids: Sequence[str]) -> None:
        """Friends among `user_ids` join the group; the others (32216) are the mirror's to report."""
        body: dict[str, Any] = {"From_Account": user_id, "GroupName": [name]}
        if user_ids:
            body["To_Account"] = list(user_ids)
        await self._client.call("sns/group_add", body)

    async def delete_friend_groups(self, user_id: str, names: Sequence[str]) -> None:
        await self._client.call("sns/group_delete", {"From_Account": user_id, "GroupName": list(names)})

    async def rename_friend_group(self, user_id: str, old: str, new: str, members: Sequence[str]) -> None:
        await self.create_friend_group(user_id, new, members)
        try:
            await self.delete_friend_groups(user_id, [old])
        except TencentError:
            # undo the new group, so the rename failed as a whole (best effort: Tencent may be gone)
            with contextlib.suppress(TencentError):
                await self.delete_friend_groups(user_id, [new])
            raise

    async def fetch_relations(self, user_id: str) -> RelationChain | None:
        try:
            friends = await self._friends(user_id)
        except TencentError as exc:
            if exc.tencent_code in ACCOUNT_MISSING_CODES:
                return None
            raise
        return RelationChain(
            friends=friends, blacklist=await self._blacklist(user_id), groups=await self._groups(user_id)
        )

    async def _friends(self, user_id: str) -> tuple[UpstreamFriend, ...]:
        friends: list[UpstreamFriend] = []
        start = 0
        for _ in range(PAGES_MAX):
            body = {"From_Account": user_id, "StartIndex": start, "StandardSequence": 0, "CustomSequence": 0}
            answer = await self._client.call("sns/friend_get", body, idempotent=True)
            friends += [f for f in map(_friend, answer.result_items("UserDataItem")) if f is not None]
            following = answer.get("NextStartIndex", 0)
            if answer.get("CompleteFlag", 1) == 1 or not isinstance(following, int) or following <= start:
                break
            start = following
        return tuple(friends)

    async def _blacklist(self, user_id: str) -> tuple[tuple[str, int], ...]:
        blocked: list[tuple[str, int]] = []
        start = 0
        for _ in range(PAGES_MAX):
            body = {"From_Account": user_id, "StartIndex": start, "MaxLimited": BLACK_LIST_PAGE, "LastSequence": 0}
            answer = await self._client.call("sns/black_list_get", body, idempotent=True)
            for item in answer.result_items("BlackListItem"):
                account, at = item.get("To_Account"), item.get("AddBlackTimeStamp", 0)
                if isinstance(account, str) and account:
                    blocked.append((account, at if isinstance(at, int) and not isinstance(at, bool) else 0))
            following = answer.get("StartIndex", 0)
            if not isinstance(following, int) or following <= start:
                break
            start = following
        return tuple(blocked)

    async def _groups(self, user_id: str) -> tuple[str, ...]:
        body = {"From_Account": user_id, "LastSequence": 0, "NeedFriend": "Need_Friend_Type_No"}
        answer = await self._client.call("sns/group_get", body, idempotent=True)
        names = [item.get("GroupName") for item in answer.result_items("ResultItem")]
        return tuple(n for n in names if isinstance(n, str) and n)
