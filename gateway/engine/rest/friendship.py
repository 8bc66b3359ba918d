"""Relationships: `sns/*` (friends, blacklist, friend groups), on the engine's friendship part.

Every write goes through the same engine methods as the SDK's calls, so the users concerned hear
of it exactly as they would of the SDK equivalent (onFriendListAdded/Deleted, onBlackListAdd/Deleted,
onFriendInfoChanged, onFriendApplicationListAdded/Deleted). Two admin variants exist in the engine
because Tencent's REST allows what the SDK refuses: `add_friend(force=True)` (ForceAddFlags: neither
AllowType nor blacklists apply) and `import_friend` (a one-way friend with a given AddTime).

Batch calls answer per item (`ResultItem`, and `Fail_Account` listing every non-zero ResultCode); a
malformed request (missing or mistyped field, over-limit batch, bad tag) is refused as a whole with
30001 before anything is written. An unknown `From_Account` is refused with 30003; an unknown
`To_Account` is that item's 30003.

Tencent's `StandardSequence`/`CustomSequence`/`CurrentSequence`/`CurruentSequence` are version
stamps a client compares with the one it holds. imql derives them from the data itself (a fingerprint,
never 0), so "equal" still means "unchanged", but they do not count upwards.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from gateway.engine import friendship as rules
from gateway.engine.friendship import FriendRecord
from gateway.engine.profiles import CUSTOM_KEYS_MAX, validate_custom_info
from gateway.engine.rest.context import RestContext
from gateway.engine.rest.registry import Commands
from gateway.errors import Code, IMError
from gateway.im.model import FriendChanges, FriendOperationResult, UserFullInfo
from gateway.v4 import profile as profile_tags
from gateway.v4 import sns as wire_sns
from gateway.v4.fields import Body
from gateway.v4.sns import (
    ADD_SOURCE,
    ADD_TYPES,
    BOTH,
    CHECK_TYPES,
    DELETE_TYPES,
    RELATIONS,
    SINGLE,
    TAG_ADD_SOURCE,
    TAG_ADD_TIME,
    TAG_ADD_WORDING,
    TAG_GROUP,
    TAG_REMARK,
)

sns = Commands("sns", invalid_code=30001)

REGISTRIES = (sns,)

# Tencent's sns codes that imql's Code enum does not name.
ACCOUNT_MISSING = wire_sns.ACCOUNT_MISSING
FRIEND_GROUPS_FULL = 30011  # too many friend groups
BLACKLIST_FULL = 30013  # the blacklist is full
GROUP_ADD_NOT_FRIEND = 32216  # group_add: the account is not a friend

# Batch caps: Tencent's where it documents one (MAPPING.md section 8), else imql's.
ACCOUNTS_MAX = 1000  # friend_delete, friend_check, black_list_add/delete/check
GET_LIST_MAX = 100  # friend_get_list
ITEMS_MAX = 100  # friend_add, friend_import, friend_update: Tencent documents no cap; imql's
FRIEND_GET_PAGE = 100  # friends per friend_get page
BLACK_LIST_PAGE_MAX = 1000  # MaxLimited above this is read as this

REMARK_MAX_BYTES = 96
ADD_WORDING_MAX_BYTES = 256
GROUP_NAME_MAX_BYTES = 30
CUSTOM_VALUE_MAX_BYTES = 500
SNS_ITEMS_MAX = 2 + CUSTOM_KEYS_MAX  # friend_update: a remark, the groups and every custom field
BLACK_CHECK_TYPES = {"BlackCheckResult_Type_Single": SINGLE, "BlackCheckResult_Type_Both": BOTH}
NEED_FRIEND = {"Need_Friend_Type_Yes": True, "Need_Friend_Type_No": False}

SNS_CUSTOM = wire_sns.CUSTOM_PREFIX
SNS_TAGS = wire_sns.STANDARD_TAGS
PROFILE_CUSTOM = profile_tags.CUSTOM_PREFIX
# friend_get_list shows profile tags as portrait_get does (profile_tags), except the server-only ones
# (Location, Language, ...), which it leaves out, as Tencent leaves out a field never set.


# ---- shared pieces ---------------------------------------------------------------------------------
def _answer(**fields: Any) -> dict[str, Any]:
    """sns answers carry `ErrorDisplay` beside the envelope (empty when all went well)."""
    return {**fields, "ErrorDisplay": ""}


async def _owner(ctx: RestContext, body: Body) -> str:
    """`From_Account`, which must be an existing account."""
    owner: str = body.string("From_Account")
    if not (await ctx.engine.profiles.exists([owner]))[0]:
        raise IMError(ACCOUNT_MISSING, f"From_Account: no account {owner!r}")
    return owner


async def _existing(ctx: RestContext, user_ids: Sequence[str]) -> set[str]:
    wanted = list(dict.fromkeys(user_ids))
    found = await ctx.engine.profiles.exists(wanted) if wanted else []
    return {uid for uid, known in zip(wanted, found, strict=True) if known}


@dataclass
class Outcome:
    """One item's result: `To_Account`, `ResultCode`, `ResultInfo`."""

    account: str
    code: int = 0
    info: str = ""

    @classmethod
    def of(cls, result: FriendOperationResult) -> Outcome:
        return cls(result.userID, result.resultCode, result.resultInfo)


def _results(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """`ResultItem` and, when some item failed, `Fail_Account` (Tencent leaves it out otherwise)."""
    done = list(outcomes)
    fields: dict[str, Any] = {
        "ResultItem": [{"To_Account": o.account, "ResultCode": o.code, "ResultInfo": o.info} for o in done]
    }
    failed = [o.account for o in done if o.code]
    if failed:
        fields["Fail_Account"] = failed
    return fields


def _missing(account: str) -> Outcome:
    return Outcome(account, ACCOUNT_MISSING, f"no account {account!r}")


def _sequence(value: Any) -> int:
    """A version stamp of `value`: equal data, equal stamp; never 0 (a client's "I have nothing")."""
    return zlib.crc32(msgspec.json.encode(value, order="deterministic")) & 0x7FFFFFFF or 1


def _custom_key(tag: str, prefix: str, where: Body) -> str:
    key = tag[len(prefix) :]
    try:
        validate_custom_info({key: ""}, tag)
    except IMError as exc:
        raise where.error(exc.desc) from exc
    return key


def _custom_value(item: Body) -> str:
    """A custom friend field's value: a string (an integer, as in Tencent's import sample, is kept as
    its decimal text)."""
    value = item.raw.get("Value")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text: str = item.string("Value", max_bytes=CUSTOM_VALUE_MAX_BYTES, empty=True)
    return text


def _group_names(body: Body, name: str, *default: list[str]) -> list[str]:
    """Friend group names (required unless a default is given)."""
    names: list[str] = body.strings(
        name, *default, max_items=rules.FRIEND_GROUPS_MAX, min_items=0 if default else 1, max_bytes=GROUP_NAME_MAX_BYTES
    )
    return names


# ---- friends ---------------------------------------------------------------------------------------
@dataclass
class AddRequest:
    target: str
    remark: str
    group: str
    source: str
    wording: str


def _add_source(item: Body) -> str:
    source: str = item.string("AddSource")
    if not ADD_SOURCE.fullmatch(source):
        raise item.error("AddSource must be AddSource_Type_ and a keyword of 1-8 English letters")
    return source


def _add_request(item: Body) -> AddRequest:
    return AddRequest(
        target=item.string("To_Account"),
        remark=item.string("Remark", "", max_bytes=REMARK_MAX_BYTES, empty=True),
        group=item.string("GroupName", "", max_bytes=GROUP_NAME_MAX_BYTES, empty=True),
        source=_add_source(item),
        wording=item.string("AddWording", "", max_bytes=ADD_WORDING_MAX_BYTES, empty=True),
    )


@sns.command("friend_add")
async def friend_add(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Add friends for `From_Account`, as its SDK addFriend would: the target's AllowType decides
    (NeedConfirm: a pending request, ResultCode 30539; DenyAny: 30516) and blacklists refuse (30515,
    30525), unless `ForceAddFlags` is 1, when the friendship is made at once."""
    owner = await _owner(ctx, body)
    requests = [_add_request(item) for item in body.objects("AddFriendItem", max_items=ITEMS_MAX)]
    add_type = body.choice("AddType", ADD_TYPES, BOTH)
    force = body.flag("ForceAddFlags")
    known = await _existing(ctx, [r.target for r in requests])
    outcomes = []
    for request in requests:
        if request.target not in known:
            outcomes.append(_missing(request.target))
            continue
        try:
            result = await ctx.engine.friendship.add_friend(
                owner,
                request.target,
                add_type,
                remark=request.remark,
                add_wording=request.wording,
                add_source=request.source,
                friend_group=request.group,
                force=force,
            )
        except IMError as exc:
            outcomes.append(Outcome(request.target, exc.code, exc.desc))
        else:
            outcomes.append(Outcome.of(result))
    return _answer(**_results(outcomes))


def _custom_items(item: Body) -> dict[str, str]:
    custom = {}
    for entry in item.objects("CustomItem", [], max_items=CUSTOM_KEYS_MAX, min_items=0):
        tag: str = entry.string("Tag")
        if not tag.startswith(SNS_CUSTOM):
            raise entry.error(f"Tag must start with {SNS_CUSTOM}")
        custom[_custom_key(tag, SNS_CUSTOM, entry)] = _custom_value(entry)
    return custom


def _import_record(item: Body, now: int) -> tuple[str, FriendRecord]:
    target: str = item.string("To_Account")
    item.integer("RemarkTime", 0, lo=0)  # checked, not kept: the engine has no remark time
    record = FriendRecord(
        remark=item.string("Remark", "", max_bytes=REMARK_MAX_BYTES, empty=True),
        groups=list(dict.fromkeys(_group_names(item, "GroupName", []))),
        custom=_custom_items(item),
        addTime=item.integer("AddTime", now, lo=0),
        addSource=_add_source(item),
        addWording=item.string("AddWording", "", max_bytes=ADD_WORDING_MAX_BYTES, empty=True),
    )
    return target, record


@sns.command("friend_import")
async def friend_import(ctx: RestContext, body: Body) -> dict[str, Any]:
    """One-way friends with their data as given (AddTime, groups, custom fields), regardless of
    AllowType and blacklists. onFriendListAdded to `From_Account`."""
    owner = await _owner(ctx, body)
    now = ctx.now()
    records = [_import_record(item, now) for item in body.objects("AddFriendItem", max_items=ITEMS_MAX)]
    known = await _existing(ctx, [target for target, _ in records])
    outcomes = []
    for target, record in records:
        if target not in known:
            outcomes.append(_missing(target))
            continue
        try:
            outcomes.append(Outcome.of(await ctx.engine.friendship.import_friend(owner, target, record)))
        except IMError as exc:
            outcomes.append(Outcome(target, exc.code, exc.desc))
    return _answer(**_results(outcomes))


@dataclass
class Update:
    target: str
    changes: FriendChanges
    groups: list[str] | None


def _update(item: Body) -> Update:
    target: str = item.string("To_Account")
    remark: str | None = None
    groups: list[str] | None = None
    custom: dict[str, str] = {}
    for entry in item.objects("SnsItem", max_items=SNS_ITEMS_MAX):
        tag: str = entry.string("Tag")
        if tag == TAG_REMARK:
            remark = entry.string("Value", max_bytes=REMARK_MAX_BYTES, empty=True)
        elif tag == TAG_GROUP:
            # the whole new list; [] takes the friend out of every group
            names = entry.strings(
                "Value", max_items=rules.FRIEND_GROUPS_MAX, min_items=0, max_bytes=GROUP_NAME_MAX_BYTES
            )
            groups = list(dict.fromkeys(names))
        elif tag.startswith(SNS_CUSTOM):
            custom[_custom_key(tag, SNS_CUSTOM, entry)] = _custom_value(entry)
        else:
            raise entry.error(f"Tag {tag!r} cannot be updated (only {TAG_REMARK}, {TAG_GROUP}, {SNS_CUSTOM}*)")
    return Update(target, FriendChanges(friendRemark=remark, friendCustomInfo=custom or None), groups)


@sns.command("friend_update")
async def friend_update(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Remark, friend groups (the whole list) and custom fields of friends, as setFriendInfo:
    onFriendInfoChanged to `From_Account`. A non-friend's ResultCode is 31704."""
    owner = await _owner(ctx, body)
    updates = [_update(item) for item in body.objects("UpdateItem", max_items=ITEMS_MAX)]
    outcomes = []
    for update in updates:
        try:
            await ctx.engine.friendship.set_friend_info(owner, update.target, update.changes, groups=update.groups)
        except IMError as exc:
            outcomes.append(Outcome(update.target, exc.code, exc.desc))
        else:
            outcomes.append(Outcome(update.target))
    return _answer(**_results(outcomes))


@sns.command("friend_delete")
async def friend_delete(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Remove friends (Delete_Type_Both: from their lists too), as deleteFromFriendList:
    onFriendListDeleted to each side that lost a friend. A non-friend's ResultCode is 31704."""
    owner = await _owner(ctx, body)
    targets = body.strings("To_Account", max_items=ACCOUNTS_MAX)
    delete_type = body.choice("DeleteType", DELETE_TYPES, SINGLE)
    results = await ctx.engine.friendship.delete_from_friend_list(owner, targets, delete_type)
    return _answer(**_results(Outcome.of(r) for r in results))


@sns.command("friend_delete_all")
async def friend_delete_all(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Remove every friend of `From_Account` (one way unless Delete_Type_Both), with the events of
    deleteFromFriendList."""
    owner = await _owner(ctx, body)
    delete_type = body.choice("DeleteType", DELETE_TYPES, SINGLE)
    friends = sorted(await ctx.engine.friendship.friend_records(owner))
    for start in range(0, len(friends), ACCOUNTS_MAX):
        await ctx.engine.friendship.delete_from_friend_list(owner, friends[start : start + ACCOUNTS_MAX], delete_type)
    return _answer()


@sns.command("friend_check")
async def friend_check(ctx: RestContext, body: Body) -> dict[str, Any]:
    """The relation of `From_Account` (A) with each To_Account (B): CheckResult_Type_Single looks at
    A's list only (AWithB or NoRelation), CheckResult_Type_Both at both lists."""
    owner = await _owner(ctx, body)
    targets = body.strings("To_Account", max_items=ACCOUNTS_MAX)
    check_type = body.choice("CheckType", CHECK_TYPES)
    results = await ctx.engine.friendship.check_friend(owner, targets, check_type)
    items = [
        {"To_Account": r.userID, "Relation": RELATIONS[r.resultType], "ResultCode": 0, "ResultInfo": ""}
        for r in results
    ]
    return _answer(InfoItem=items)


def _standard_items(record: FriendRecord) -> list[dict[str, Any]]:
    """A friend's standard fields as Tencent lists them; one never set is left out."""
    items: list[dict[str, Any]] = []
    if record.addSource:
        items.append({"Tag": TAG_ADD_SOURCE, "Value": record.addSource})
    if record.remark:
        items.append({"Tag": TAG_REMARK, "Value": record.remark})
    if record.groups:
        items.append({"Tag": TAG_GROUP, "Value": list(record.groups)})
    if record.addWording:
        items.append({"Tag": TAG_ADD_WORDING, "Value": record.addWording})
    items.append({"Tag": TAG_ADD_TIME, "Value": record.addTime})
    return items


def _custom_friend_items(record: FriendRecord) -> list[dict[str, Any]]:
    return [{"Tag": f"{SNS_CUSTOM}{key}", "Value": value} for key, value in sorted(record.custom.items())]


def _standard_of(record: FriendRecord) -> list[Any]:
    return [record.addSource, record.remark, record.groups, record.addWording, record.addTime]


@sns.command("friend_get")
async def friend_get(ctx: RestContext, body: Body) -> dict[str, Any]:
    """A page of `From_Account`'s friends (oldest friendship first) with their standard and custom
    fields. A part whose sequence the caller already holds (StandardSequence / CustomSequence) is
    left out, as Tencent does."""
    owner = await _owner(ctx, body)
    start: int = body.integer("StartIndex", lo=0)
    held_standard: int = body.integer("StandardSequence", 0, lo=0)
    held_custom: int = body.integer("CustomSequence", 0, lo=0)
    records = await ctx.engine.friendship.friend_records(owner)
    ordered = sorted(records, key=lambda uid: (records[uid].addTime, uid))
    standard = _sequence([[uid, _standard_of(records[uid])] for uid in ordered])
    custom = _sequence([[uid, records[uid].custom] for uid in ordered])
    page = ordered[start : start + FRIEND_GET_PAGE]
    items = []
    for uid in page:
        values = _standard_items(records[uid]) if standard != held_standard else []
        if custom != held_custom:
            values += _custom_friend_items(records[uid])
        items.append({"To_Account": uid, "ValueItem": values})
    complete = start + len(page) >= len(ordered)
    return _answer(
        UserDataItem=items,
        StandardSequence=standard,
        CustomSequence=custom,
        FriendNum=len(ordered),
        CompleteFlag=1 if complete else 0,
        NextStartIndex=0 if complete else start + len(page),
    )


def _check_tags(body: Body, tags: Sequence[str]) -> None:
    for tag in tags:
        if tag.startswith(SNS_CUSTOM):
            _custom_key(tag, SNS_CUSTOM, body)
        elif tag.startswith(PROFILE_CUSTOM):
            _custom_key(tag, PROFILE_CUSTOM, body)
        elif tag not in SNS_TAGS and not profile_tags.is_known(tag):
            raise body.error(f"TagList: unknown tag {tag!r}")


def _tagged(tags: Sequence[str], record: FriendRecord, profile: UserFullInfo | None) -> list[dict[str, Any]]:
    """The fields `tags` asks for, in the order asked; fields never set are left out."""
    friend = {item["Tag"]: item["Value"] for item in (*_standard_items(record), *_custom_friend_items(record))}
    items = []
    for tag in dict.fromkeys(tags):
        if tag in friend:
            items.append({"Tag": tag, "Value": friend[tag]})
        elif profile is not None and profile_tags.is_sdk_field(tag):
            items.append({"Tag": tag, "Value": profile_tags.tag_value(tag, profile, {})})
        elif (
            profile is not None and tag.startswith(PROFILE_CUSTOM) and tag[len(PROFILE_CUSTOM) :] in profile.customInfo
        ):
            items.append({"Tag": tag, "Value": profile.customInfo[tag[len(PROFILE_CUSTOM) :]]})
    return items


@sns.command("friend_get_list")
async def friend_get_list(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Chosen friend and profile fields (TagList) of up to 100 friends; a non-friend's ResultCode is
    30001, as on Tencent."""
    owner = await _owner(ctx, body)
    targets = body.strings("To_Account", max_items=GET_LIST_MAX)
    tags = body.strings("TagList", max_items=GET_LIST_MAX)
    _check_tags(body, tags)
    records = await ctx.engine.friendship.friend_records(owner)
    friends = [uid for uid in dict.fromkeys(targets) if uid in records]
    profiles = {p.userID: p for p in await ctx.engine.profiles.get(friends)} if friends else {}
    items: list[dict[str, Any]] = []
    failed = []
    for uid in targets:
        if uid not in records:
            items.append(
                {"To_Account": uid, "ResultCode": Code.ERR_FRIENDSHIP_INVALID_PARAMETERS, "ResultInfo": "not a friend"}
            )
            failed.append(uid)
            continue
        sns_items = _tagged(tags, records[uid], profiles.get(uid))
        items.append({"To_Account": uid, "SnsProfileItem": sns_items, "ResultCode": 0, "ResultInfo": ""})
    fields: dict[str, Any] = {"InfoItem": items}
    if failed:
        fields["Fail_Account"] = failed
    return _answer(**fields)


# ---- blacklist ---------------------------------------------------------------------------------------
@sns.command("black_list_add")
async def black_list_add(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Block users, as addToBlackList: friendships both ways and pending requests end. onBlackListAdd
    to `From_Account`, onFriendListDeleted to each side that lost a friend. Someone already blocked
    is that item's 30001, as on Tencent; a blacklist that would overflow refuses the call (30013)."""
    owner = await _owner(ctx, body)
    targets = list(dict.fromkeys(body.strings("To_Account", max_items=ACCOUNTS_MAX)))
    blocked = {uid for uid, _ in await ctx.engine.friendship.black_list_entries(owner)}
    known = await _existing(ctx, targets)
    fresh = [uid for uid in targets if uid in known and uid not in blocked and uid != owner]
    if len(blocked) + len(fresh) > rules.BLACKLIST_MAX:
        raise IMError(BLACKLIST_FULL, f"a blacklist holds at most {rules.BLACKLIST_MAX} users")
    done = (
        {r.userID: Outcome.of(r) for r in await ctx.engine.friendship.add_to_black_list(owner, fresh)} if fresh else {}
    )
    outcomes = []
    for uid in targets:
        if uid in done:
            outcomes.append(done[uid])
        elif uid not in known:
            outcomes.append(_missing(uid))
        elif uid == owner:
            outcomes.append(Outcome(uid, Code.ERR_FRIENDSHIP_INVALID_PARAMETERS, "you cannot block yourself"))
        else:
            outcomes.append(Outcome(uid, Code.ERR_FRIENDSHIP_INVALID_PARAMETERS, "Err_SNS_BlackListAdd_Already_Exist"))
    return _answer(**_results(outcomes))


@sns.command("black_list_delete")
async def black_list_delete(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Unblock users, as deleteFromBlackList: onBlackListDeleted to `From_Account`. Someone not
    blocked is that item's 30001."""
    owner = await _owner(ctx, body)
    targets = body.strings("To_Account", max_items=ACCOUNTS_MAX)
    results = await ctx.engine.friendship.delete_from_black_list(owner, targets)
    return _answer(**_results(Outcome.of(r) for r in results))


@sns.command("black_list_get")
async def black_list_get(ctx: RestContext, body: Body) -> dict[str, Any]:
    """A page of the blacklist, oldest first; `StartIndex` in the answer is where the next page
    starts (0: this was the last). The sequence is answered as `CurruentSequence`, Tencent's spelling."""
    owner = await _owner(ctx, body)
    start: int = body.integer("StartIndex", lo=0)
    limit = min(body.integer("MaxLimited", lo=1), BLACK_LIST_PAGE_MAX)
    body.integer("LastSequence", 0, lo=0)  # read for its type; every call answers the page in full
    entries = await ctx.engine.friendship.black_list_entries(owner)
    page = entries[start : start + limit]
    following = start + len(page)
    return _answer(
        BlackListItem=[{"To_Account": uid, "AddBlackTimeStamp": at} for uid, at in page],
        StartIndex=following if following < len(entries) else 0,
        CurruentSequence=_sequence(entries),
    )


@sns.command("black_list_check")
async def black_list_check(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Whether B (each To_Account) is on A's (From_Account's) blacklist (AWithB) and, for
    BlackCheckResult_Type_Both, whether A is on B's (BWithA)."""
    owner = await _owner(ctx, body)
    targets = body.strings("To_Account", max_items=ACCOUNTS_MAX)
    both = body.choice("CheckType", BLACK_CHECK_TYPES) == BOTH
    friendship = ctx.engine.friendship
    blocked = {uid for uid, _ in await friendship.black_list_entries(owner)}
    items = []
    for uid in targets:
        mine = uid in blocked
        theirs = both and await friendship.is_blocked_by(owner, uid)
        relation = {
            (True, True): "BlackCheckResult_Type_BothWay",
            (True, False): "BlackCheckResult_Type_AWithB",
            (False, True): "BlackCheckResult_Type_BWithA",
            (False, False): "BlackCheckResult_Type_NO",
        }[(mine, bool(theirs))]
        items.append({"To_Account": uid, "Relation": relation, "ResultCode": 0, "ResultInfo": ""})
    return _answer(BlackListCheckItem=items)


# ---- friend groups ------------------------------------------------------------------------------------
async def _group_sequence(ctx: RestContext, owner: str) -> int:
    groups = await ctx.engine.friendship.get_friend_groups(owner, None)
    return _sequence([[g.name, g.friendIDList] for g in groups])


@sns.command("group_add")
async def group_add(ctx: RestContext, body: Body) -> dict[str, Any]:
    """New friend groups, optionally holding the friends named in To_Account (a non-friend's
    ResultCode is 32216), as createFriendGroup: onFriendInfoChanged to `From_Account` for the friends
    placed. A name taken refuses the call (30001), too many groups too (30011)."""
    owner = await _owner(ctx, body)
    names = _group_names(body, "GroupName")
    members = list(dict.fromkeys(body.strings("To_Account", [], max_items=ACCOUNTS_MAX, min_items=0)))
    if len(set(names)) != len(names):
        raise body.error("GroupName names a group twice")
    existing = {g.name for g in await ctx.engine.friendship.get_friend_groups(owner, None)}
    taken = [name for name in names if name in existing]
    if taken:
        raise body.error(f"GroupName: friend group {taken[0]!r} exists already")
    if len(existing) + len(names) > rules.FRIEND_GROUPS_MAX:
        raise IMError(FRIEND_GROUPS_FULL, f"at most {rules.FRIEND_GROUPS_MAX} friend groups")
    outcomes: list[Outcome] = []
    for name in names:
        results = await ctx.engine.friendship.create_friend_group(owner, name, members)
        # every group gets the same friends, so each name's results are the same: keep the last
        outcomes = [
            Outcome(r.userID, GROUP_ADD_NOT_FRIEND, "not a friend") if r.resultCode else Outcome(r.userID)
            for r in results
        ]
    fields = _results(outcomes) if members else {}
    return _answer(**fields, CurrentSequence=await _group_sequence(ctx, owner))


@sns.command("group_delete")
async def group_delete(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Delete friend groups (the friends stay friends), as deleteFriendGroup: onFriendInfoChanged to
    `From_Account` for the friends they held. A name that is no group refuses the call (30001)."""
    owner = await _owner(ctx, body)
    names = _group_names(body, "GroupName")
    existing = {g.name for g in await ctx.engine.friendship.get_friend_groups(owner, None)}
    unknown = [name for name in names if name not in existing]
    if unknown:
        raise body.error(f"GroupName: no friend group {unknown[0]!r}")
    await ctx.engine.friendship.delete_friend_group(owner, names)
    return _answer(CurrentSequence=await _group_sequence(ctx, owner))


@sns.command("group_get")
async def group_get(ctx: RestContext, body: Body) -> dict[str, Any]:
    """The friend groups (all, or those named in GroupName) with their sizes, and their members when
    NeedFriend is Need_Friend_Type_Yes or the groups are named."""
    owner = await _owner(ctx, body)
    body.integer("LastSequence", 0, lo=0)  # read for its type; every call answers the groups in full
    need_friend: bool = body.choice("NeedFriend", NEED_FRIEND, False)
    names = _group_names(body, "GroupName", [])
    groups = await ctx.engine.friendship.get_friend_groups(owner, names or None)
    items = []
    for group in groups:
        item: dict[str, Any] = {"GroupName": group.name, "FriendNumber": group.friendCount}
        if need_friend or names:
            item["To_Account"] = list(group.friendIDList)
        items.append(item)
    return _answer(ResultItem=items, CurrentSequence=await _group_sequence(ctx, owner))
