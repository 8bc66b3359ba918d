"""Message search: searchLocalMessages and searchCloudMessages (one search: the server's store is
both the "local" and the "cloud" copy here).

The embedded engine keeps no full-text index: a search reads the conversations' timelines newest
first, in pipelined chunks, and stops after SCAN_MAX messages in all (the newest ones within the
time range); production deployments that search deep histories want an index behind this API.
Matching is case-insensitive on what a message shows: text, custom data/desc/extension, file name,
location description and a merged message's title and abstracts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from gateway.engine.codec import STORED_DEC
from gateway.engine.groups.store import GroupStore
from gateway.engine.message_core import MessageCore
from gateway.errors import invalid
from gateway.ids import check_user_id, conversation_group_id, group_conversation_id, parse_conversation_id, topic_parent
from gateway.im.enums import ConversationType, ElemType, KeywordListMatchType
from gateway.im.messages import MessageSearchResult, MessageSearchResultItem, SearchParam, StoredMessage
from gateway.keys import Keys

T = TypeVar("T")

KEYWORDS_MAX = 5
SENDERS_MAX = 5
PAGE_SIZE_MAX = 100
SCAN_MAX = 20_000  # messages read per search at most (see the module doc)
_CHUNK = 200  # seqs read per HMGET
UNSEARCHABLE = {ElemType.V2TIM_ELEM_TYPE_FACE, ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS}


def _searchable_text(m: StoredMessage) -> str:
    c = m.content
    parts: list[str] = []
    if c.textElem:
        parts.append(c.textElem.text)
    if c.customElem:
        parts += [c.customElem.data, c.customElem.desc, c.customElem.extension]
    if c.fileElem:
        parts.append(c.fileElem.fileName)
    if c.locationElem:
        parts.append(c.locationElem.desc)
    if c.mergerElem:
        parts += [c.mergerElem.title, *c.mergerElem.abstractList]
    return "\n".join(parts).casefold()


class Searching:
    """The search part of the message manager: it reads timelines and views through the MessageCore."""

    def __init__(self, core: MessageCore, redis: Any, keys: Keys, groups: GroupStore) -> None:
        self._core = core
        self._redis = redis
        self._keys = keys
        self._groups = groups

    def _check_search(self, p: SearchParam) -> None:
        if len(p.keywordList) > KEYWORDS_MAX or any(not k for k in p.keywordList):
            raise invalid(f"keywordList: at most {KEYWORDS_MAX} non-empty keywords")
        if len(p.userIDList) > SENDERS_MAX:
            raise invalid(f"userIDList: at most {SENDERS_MAX} senders")
        for uid in p.userIDList:
            check_user_id(uid, "userIDList")
        if not p.keywordList and not p.userIDList and not p.messageTypeList:
            raise invalid("keywordList is required unless userIDList or messageTypeList narrows the search")
        if UNSEARCHABLE & set(p.messageTypeList):
            raise invalid("messageTypeList: face and group tips messages are not searchable")
        if not 0 <= p.pageSize <= PAGE_SIZE_MAX or p.pageIndex < 0:
            raise invalid(f"pageSize 0 (no paging) to {PAGE_SIZE_MAX}, pageIndex 0 or more")
        if p.searchTimePosition < 0 or p.searchTimePeriod < 0:
            raise invalid("searchTimePosition and searchTimePeriod must be 0 or more")

    async def search_messages(self, user_id: str, p: SearchParam) -> MessageSearchResult:
        self._check_search(p)
        if p.conversationID:
            kind, target = parse_conversation_id(p.conversationID)
            if kind == ConversationType.V2TIM_GROUP:  # a group's history is its members' to search
                await self._groups.require_member(await self._groups.info(topic_parent(target) or target), user_id)
            convs = [p.conversationID]
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrevrange(self._keys.conversations(user_id), 0, -1)
            pipe.hkeys(self._keys.user_groups(user_id))
            ordered, groups = await pipe.execute()
            joined = set(groups)
            # a group's (a topic's: its community's) messages are its current members' to search:
            # the conversation of a group the user left stays in their list, but is not searched
            convs = [
                c
                for c in dict.fromkeys([*ordered, *(group_conversation_id(g) for g in groups)])
                if (group := conversation_group_id(c)) is None or (topic_parent(group) or group) in joined
            ]
        found = await self._matches(user_id, convs, p)
        if p.conversationID:
            matches = found.get(p.conversationID, [])
            page = _page(matches, p)
            items = [
                MessageSearchResultItem(
                    conversationID=p.conversationID,
                    messageCount=len(matches),
                    messageList=await self._core.views(user_id, page),
                )
            ]
            return MessageSearchResult(totalCount=len(matches), messageSearchResultItems=items if matches else [])
        # all conversations: one item each; its only match is shown, several are just counted
        hits = [c for c in convs if found.get(c)]
        items = []
        for conv in _page(hits, p):
            matches = found[conv]
            shown = await self._core.views(user_id, matches) if len(matches) == 1 else []
            items.append(MessageSearchResultItem(conversationID=conv, messageCount=len(matches), messageList=shown))
        return MessageSearchResult(totalCount=len(hits), messageSearchResultItems=items)

    async def _matches(self, user_id: str, convs: Sequence[str], p: SearchParam) -> dict[str, list[StoredMessage]]:
        now = self._core.now()
        newest = p.searchTimePosition or now
        oldest = newest - p.searchTimePeriod if p.searchTimePeriod else 0
        keywords = [k.casefold() for k in p.keywordList]
        every = p.type == KeywordListMatchType.V2TIM_KEYWORD_LIST_MATCH_TYPE_AND
        types = set(p.messageTypeList)
        senders = set(p.userIDList)

        def wanted(m: StoredMessage) -> bool:
            if not oldest <= m.timestamp <= newest or m.content.elemType in UNSEARCHABLE:
                return False
            if types and m.content.elemType not in types:
                return False
            if senders and m.sender not in senders:
                return False
            if not keywords:
                return True
            text = _searchable_text(m)
            hits = (k in text for k in keywords)
            return all(hits) if every else any(hits)

        timelines = []
        for conv in convs:
            kind, target = parse_conversation_id(conv)
            if kind == ConversationType.V2TIM_C2C:
                timelines.append(self._keys.c2c_timeline(user_id, target))
            else:
                timelines.append(self._keys.group_timeline(target))
        pipe = self._redis.pipeline(transaction=False)
        for timeline in timelines:
            # the last seq, and the floor the message retention trimmed the timeline up to
            pipe.mget(self._keys.timeline_seq(timeline), self._keys.timeline_floor(timeline))
        ends = [(int(top or 0), int(floor or 0)) for top, floor in await pipe.execute()]
        found: dict[str, list[StoredMessage]] = {}
        budget = SCAN_MAX
        for conv, timeline, (top, floor) in zip(convs, timelines, ends, strict=True):
            kept: list[StoredMessage] = []
            seq = top
            while seq > floor and budget > 0:
                low = max(seq - min(_CHUNK, budget), floor)
                rows = await self._redis.hmget(
                    self._keys.timeline_messages(timeline), [str(q) for q in range(seq, low, -1)]
                )
                budget -= seq - low
                batch = [STORED_DEC.decode(r) for r in rows if r]
                kept += [m for m in await self._core.visible_to(user_id, batch) if wanted(m)]
                if batch and batch[-1].timestamp < oldest:
                    break  # older than the time range from here on
                seq = low
            if kept:
                found[conv] = kept
        return found


def _page(items: list[T], p: SearchParam) -> list[T]:
    if not p.pageSize:
        return list(items)
    start = p.pageIndex * p.pageSize
    return list(items[start : start + p.pageSize])
