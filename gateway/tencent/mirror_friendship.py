"""The relation chain from Tencent's webhooks (Sns.*) into the mirror.

Each applier compares the event with the mirror: where they agree (the echo of the gateway's own
call, a retried delivery) nothing is written and nothing published. Where they differ, Tencent's
state now decides (friend_check, black_list_check), not the event: webhooks come in batches
delivered at once, so a friendship's add and its delete may arrive in either order, and an echo
may come after a later change. What Tencent confirms is written through the mirror's own REST
server (the same sns bodies Tencent takes). Reads of the mirror are made inside `from_upstream()`,
so they never reach Tencent.

Only pairs the mirror has a stake in are applied: at least one of the two accounts is mirrored. A
relation between two users the mirror has never seen is imported whole, with the rest of their
relation chain, the first time one of them is needed (gateway.engine.friendship.ensure_relations).

Friend requests (no REST reads or answers them; MAPPING.md section 10, gap 3):
- `Sns.CallbackPrevFriendAdd` is a before-callback, sent for every add a native user makes: the
  mirror files a request when the target's AllowType (as mirrored) is NeedConfirm, through its
  own friend_add, which applies the SDK's rules and tells both users. Targets that allow anyone
  are befriended by the `Sns.CallbackFriendAdd` that follows; forced adds and REST adds (the
  gateway's own, and the app's servers', which Tencent does not report this way) file nothing.
- `Sns.CallbackPrevFriendResponse` with Response_Action_Reject drops the request on both sides;
  an acceptance is applied when its `Sns.CallbackFriendAdd` comes (ClientCmd friend_response).
- `Sns.CallbackFriendAdd` for a pair whose request the mirror holds accepts that request in the
  mirror (the requester's remark and friend group apply, as on Tencent); any other new pair is a
  forced one-way add. Neither carries Tencent's add source or time: the mirror records
  "AddSource_Type_Unknown" and its own time until the chain is imported again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from gateway.errors import IMError
from gateway.im.enums import AllowType, FriendAccept, FriendAddType, FriendApplicationType, FriendRelationType
from gateway.tencent.inbound import (
    BlacklistAdded,
    BlacklistDeleted,
    FriendApplicationsAdded,
    FriendApplicationsAnswered,
    FriendPair,
    FriendRequest,
    FriendsAdded,
    FriendsDeleted,
)
from gateway.tencent.mirror_writes import Applier, MirrorWrites
from gateway.upstream import from_upstream
from gateway.v4 import sns
from gateway.v4.callbacks import REST_API

REJECT = "Response_Action_Reject"
SINGLE = FriendAddType.V2TIM_FRIEND_TYPE_SINGLE
MINE = (
    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST,
    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY,
)


# ---- the mirror as it stands (read only, never from Tencent) --------------------------------------
async def _mirrored(mirror: MirrorWrites, user_ids: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(u for u in user_ids if u))
    with from_upstream():
        found = await mirror.backend.accounts.exists(wanted) if wanted else []
    return {u for u, there in zip(wanted, found, strict=True) if there}


async def _pairs_to_apply(mirror: MirrorWrites, pairs: Sequence[FriendPair]) -> list[tuple[str, str]]:
    """The distinct (owner, other) pairs with a mirrored side, both accounts now in the mirror."""
    wanted = list(dict.fromkeys((p.from_account, p.to_account) for p in pairs if p.from_account != p.to_account))
    mirrored = await _mirrored(mirror, (u for pair in wanted for u in pair))
    wanted = [(a, b) for a, b in wanted if a in mirrored or b in mirrored]
    await mirror.know_accounts(*{u for pair in wanted for u in pair})
    return wanted


def _by_owner(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for owner, other in pairs:
        grouped.setdefault(owner, []).append(other)
    return grouped


async def _friends_of(mirror: MirrorWrites, owner: str, others: Sequence[str]) -> set[str]:
    with from_upstream():
        checked = await mirror.backend.friendship.check_friend(owner, others, SINGLE)
    return {c.userID for c in checked if c.resultType in MINE}


async def _blocked_by(mirror: MirrorWrites, owner: str) -> set[str]:
    with from_upstream():
        return {info.userID for info in await mirror.backend.friendship.get_black_list(owner)}


async def _requests_to(mirror: MirrorWrites, target: str) -> dict[str, tuple[str, str]]:
    """The requests `target` holds from others: requester -> (addWording, addSource)."""
    with from_upstream():
        listed = await mirror.backend.friendship.get_friend_application_list(target)
    come_in = FriendApplicationType.V2TIM_FRIEND_APPLICATION_COME_IN
    return {a.userID: (a.addWording, a.addSource) for a in listed.friendApplicationList if a.type == come_in}


# ---- Tencent's word, where the mirror disagrees with an event -----------------------------------------
async def _tencent_friends(mirror: MirrorWrites, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those (owner, other) pairs Tencent holds now (friend_check). Webhooks may come out of order (a
    batch is delivered at once) and late (an echo): the state now decides, not the event."""
    if mirror.upstream is None:
        return set(pairs)  # no way to ask: the event is taken as it comes
    held: set[tuple[str, str]] = set()
    for owner, others in _by_owner(pairs).items():
        checked = await mirror.upstream.friendship.check_friends(owner, others, SINGLE)
        held |= {(owner, c.userID) for c in checked if not c.resultCode and c.resultType in MINE}
    return held


async def _tencent_blocks(mirror: MirrorWrites, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those (owner, other) pairs where Tencent has the owner blocking the other now."""
    if mirror.upstream is None:
        return set(pairs)
    blocks: set[tuple[str, str]] = set()
    for owner, others in _by_owner(pairs).items():
        flags = await mirror.upstream.friendship.check_black_list(owner, others)
        blocks |= {(owner, o) for o, blocked in zip(others, flags, strict=True) if blocked}
    return blocks


async def _mirror_friends(mirror: MirrorWrites, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    held: set[tuple[str, str]] = set()
    for owner, others in _by_owner(pairs).items():
        held |= {(owner, o) for o in await _friends_of(mirror, owner, others)}
    return held


async def _mirror_blocks(mirror: MirrorWrites, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    held: set[tuple[str, str]] = set()
    for owner, others in _by_owner(pairs).items():
        blocked = await _blocked_by(mirror, owner)
        held |= {(owner, o) for o in others if o in blocked}
    return held


# ---- appliers ------------------------------------------------------------------------------------------
async def friends_added(mirror: MirrorWrites, event: FriendsAdded) -> None:
    """Sns.CallbackFriendAdd: each new (owner, friend) entry the mirror lacks and Tencent holds."""
    pairs = await _pairs_to_apply(mirror, event.pairs)
    mirrored = await _mirror_friends(mirror, pairs)
    lacking = [p for p in pairs if p not in mirrored]
    if not lacking:
        return  # the gateway's own add (its echo), or a retried delivery
    made = await _tencent_friends(mirror, lacking)
    # requests first: accepting one makes its reverse pair too, with the requester's remark and group
    for owner, friend in lacking:
        if (owner, friend) in made and owner in await _requests_to(mirror, friend):
            both = (friend, owner) in made
            await _accept(mirror, owner, friend, both)
    for owner, friend in lacking:
        if (owner, friend) in made and not await _friends_of(mirror, owner, [friend]):
            item = {"To_Account": friend, "AddSource": sns.UNKNOWN_ADD_SOURCE}
            body = {"From_Account": owner, "AddFriendItem": [item], "AddType": "Add_Type_Single", "ForceAddFlags": 1}
            await mirror.apply("sns/friend_add", body)


async def _accept(mirror: MirrorWrites, requester: str, target: str, both: bool) -> None:
    """The target accepted `requester`'s request held in the mirror (both ways when Tencent made the
    reverse pair too). Should the mirror's own rules refuse (e.g. a full list), the pair is forced."""
    if both and await _friends_of(mirror, target, [requester]):
        both = False
    response = FriendAccept.V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD if both else FriendAccept.V2TIM_FRIEND_ACCEPT_AGREE
    with contextlib.suppress(IMError), from_upstream():
        await mirror.backend.friendship.accept_friend_application(target, requester, response)


async def friends_deleted(mirror: MirrorWrites, event: FriendsDeleted) -> None:
    """Sns.CallbackFriendDelete: each entry the mirror still has and Tencent no longer does. A pair
    names whose list lost whom, so a both-way delete may come as the deleter's pair alone: the
    reverse entries are looked at too."""
    named = await _pairs_to_apply(mirror, event.pairs)
    pairs = list(dict.fromkeys([*named, *((b, a) for a, b in named)]))
    mirrored = await _mirror_friends(mirror, pairs)
    held = [p for p in pairs if p in mirrored]
    if not held:
        return  # the gateway's own delete (its echo), or a retried delivery
    kept = await _tencent_friends(mirror, held)
    for owner, others in _by_owner([p for p in held if p not in kept]).items():
        body = {"From_Account": owner, "To_Account": others, "DeleteType": "Delete_Type_Single"}
        await mirror.apply("sns/friend_delete", body)


async def blacklist_added(mirror: MirrorWrites, event: BlacklistAdded) -> None:
    """Sns.CallbackBlackListAdd: the owner blocked the other (which ends their friendship both ways)."""
    pairs = await _pairs_to_apply(mirror, event.pairs)
    held = await _mirror_blocks(mirror, pairs)
    lacking = [p for p in pairs if p not in held]
    if not lacking:
        return
    blocks = await _tencent_blocks(mirror, lacking)
    for owner, others in _by_owner([p for p in lacking if p in blocks]).items():
        await mirror.apply("sns/black_list_add", {"From_Account": owner, "To_Account": others})


async def blacklist_deleted(mirror: MirrorWrites, event: BlacklistDeleted) -> None:
    """Sns.CallbackBlackListDelete."""
    pairs = await _pairs_to_apply(mirror, event.pairs)
    mirrored = await _mirror_blocks(mirror, pairs)
    held = [p for p in pairs if p in mirrored]
    if not held:
        return
    blocks = await _tencent_blocks(mirror, held)
    for owner, others in _by_owner([p for p in held if p not in blocks]).items():
        await mirror.apply("sns/black_list_delete", {"From_Account": owner, "To_Account": others})


async def friend_requests(mirror: MirrorWrites, event: FriendApplicationsAdded) -> None:
    """Sns.CallbackPrevFriendAdd: a native user's requests to targets that need to confirm."""
    if event.platform == REST_API or event.force_add_flags:
        return  # no request waits (forced), or a REST add: the gateway filed its own already
    requester = event.from_account
    targets = [r for r in event.requests if r.to_account != requester]
    if not (await _mirrored(mirror, [requester, *(r.to_account for r in targets)])):
        return
    await mirror.know_accounts(requester, *(r.to_account for r in targets))
    with from_upstream():
        infos = await mirror.backend.accounts.get_users_info([r.to_account for r in targets])
    confirming = {i.userID for i in infos if i.allowType == AllowType.V2TIM_FRIEND_NEED_CONFIRM}
    items = []
    for request in targets:
        if request.to_account not in confirming:
            continue  # allowed at once (Sns.CallbackFriendAdd follows) or refused by Tencent
        if (await _requests_to(mirror, request.to_account)).get(requester) == (request.add_wording, request.add_source):
            continue  # filed already (a retried delivery)
        items.append(_add_item(request))
    if items:
        add_type = event.add_type if event.add_type in sns.ADD_TYPES else "Add_Type_Both"
        body = {"From_Account": requester, "AddFriendItem": items, "AddType": add_type, "ForceAddFlags": 0}
        await mirror.apply("sns/friend_add", body)


def _add_item(request: FriendRequest) -> dict[str, Any]:
    item: dict[str, Any] = {"To_Account": request.to_account, "AddSource": sns.add_source_for_rest(request.add_source)}
    if request.remark:
        item["Remark"] = request.remark
    if request.group_name:
        item["GroupName"] = request.group_name
    if request.add_wording:
        item["AddWording"] = request.add_wording
    return item


async def friend_responses(mirror: MirrorWrites, event: FriendApplicationsAnswered) -> None:
    """Sns.CallbackPrevFriendResponse: a refused request leaves both users' lists."""
    responder = event.from_account
    for response in event.responses:
        if response.action != REJECT or response.to_account not in await _requests_to(mirror, responder):
            continue
        with from_upstream():
            await mirror.backend.friendship.refuse_friend_application(responder, response.to_account)


APPLIERS: dict[type[Any], Applier] = {
    FriendsAdded: friends_added,
    FriendsDeleted: friends_deleted,
    BlacklistAdded: blacklist_added,
    BlacklistDeleted: blacklist_deleted,
    FriendApplicationsAdded: friend_requests,
    FriendApplicationsAnswered: friend_responses,
}
