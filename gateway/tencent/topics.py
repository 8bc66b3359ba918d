"""The Tencent Cloud backend's community topics: `TopicsUpstream` over REST v4's
`million_group_open_http_svc` (MAPPING.md #86-#89, FIXTURES.md B33).

Each write is one call as the app admin, with the user as `From_Account` where Tencent takes one
(the engine checked the SDK's rules first: REST checks none for the admin). Tencent's callbacks about
these writes (`Group.CallbackAfterCreateTopic`, `...AfterTopicDestroyed`, `...AfterTopicInfoChanged`)
come back as echoes: each write's echo keys are recorded (`OwnMessages`) once Tencent took it and
the mirror was written too, still in the community's turn (`echoes_after`, which the engine holds
around both: gateway.engine.groups.extras), so the inbound worker drops the echo; one that arrives
before the record waits for the turn and then changes nothing, since the appliers compare with the
mirror (gateway.tencent.mirror_topics). An info-change callback that names no topic (Tencent's
sample) is never taken for an echo: nothing in it says which topic changed, so the same values may
be another topic's native change; its applier re-reads the topics and finds the gateway's own
change in the mirror already. A write that fails after Tencent took it (a deadline, Redis,
a crash) records nothing: Tencent's webhook of it is applied, and repairs the mirror.

Topics need topics enabled on the app (Ultimate edition): Tencent answers 11000 otherwise, which
the client maps to 7013 (gateway.tencent.errors).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from typing import Any

from gateway.digits import lenient_int
from gateway.errors import Code, IMError
from gateway.ids import topic_parent
from gateway.im.groups import TopicInfo, TopicOperationResult
from gateway.tencent.client import Answer, TencentRestClient, bad_answer
from gateway.tencent.errors import TencentError, is_tencent_outage
from gateway.tencent.inbound import TOPIC_CREATE, TOPIC_DESTROY, OwnMessages, group_action_key, topic_info_key
from gateway.upstream import TopicsUpstream, UpstreamTopic
from gateway.v4.groups import ON_OFF

log = logging.getLogger("imql.tencent")

SVC = "million_group_open_http_svc"
TOPIC_ID_MAX_BYTES = 96  # Tencent's limit on a topic ID (MAPPING.md section 8)
TOPICS_PER_CALL = 100  # TopicIdList per destroy_topic / get_topic (a community holds at most 100)
# the TopicInfo fields Group.CallbackAfterTopicInfoChanged reports, as modify_topic names them
REPORTED_FIELDS = ("TopicName", "Introduction", "Notification", "FaceUrl")
CALLBACK_NAMES = {"TopicName": "Name"}  # the callback's name of a field, where it differs
# the echo keys of the writes made within `TencentTopics.echoes_after`, recorded at its end
_pending_echoes: ContextVar[list[str] | None] = ContextVar("imql_topic_echoes", default=None)


def topic_fields(info: TopicInfo) -> dict[str, Any]:
    """The fields of `info` Tencent keeps, as create_topic / modify_topic name them (draftText is the
    mirror's own)."""
    return {
        "TopicName": info.topicName,
        "FaceUrl": info.topicFaceUrl,
        "Notification": info.notification,
        "Introduction": info.introduction,
        "MuteAllMember": "On" if info.isAllMuted else "Off",
        "CustomString": info.customString,
    }


def topic_from_tencent(item: dict[str, Any]) -> TopicInfo:
    """A get_topic `TopicInfo` object (FIXTURES.md B33: note its `GroupID`, unused here) as the SDK's."""
    return TopicInfo(
        topicID=str(item["TopicId"]),
        topicName=str(item.get("TopicName") or ""),
        topicFaceUrl=str(item.get("FaceUrl") or ""),
        notification=str(item.get("Notification") or ""),
        introduction=str(item.get("Introduction") or ""),
        isAllMuted=ON_OFF.get(str(item.get("MuteAllMember")), False),
        customString=str(item.get("CustomString") or ""),
    )


class TencentTopics(TopicsUpstream):
    def __init__(self, client: TencentRestClient, own: OwnMessages) -> None:
        self._client = client
        self._own_messages = own

    async def _call(self, command: str, body: dict[str, Any], *, idempotent: bool = True) -> Answer:
        return await self._client.call(f"{SVC}/{command}", body, idempotent=idempotent)

    async def _own(self, key: str) -> None:
        pending = _pending_echoes.get()
        if pending is not None:
            pending.append(key)
            return
        await self._own_messages.record_own_message(key)

    @contextlib.asynccontextmanager
    async def echoes_after(self) -> AsyncIterator[None]:
        """The echo keys of the writes made within recorded at its end, once all of it succeeded
        (Tencent's writes and the mirror's): nothing is recorded when it raises, so the webhooks of
        what Tencent took are applied to the mirror rather than dropped as echoes."""
        pending: list[str] = []
        token = _pending_echoes.set(pending)
        try:
            yield
        finally:
            _pending_echoes.reset(token)
        for key in pending:
            await self._own_messages.record_own_message(key)

    async def create_topic(self, group_id: str, creator: str, info: TopicInfo) -> str:
        if len(info.topicID.encode()) > TOPIC_ID_MAX_BYTES:
            # refused here rather than by Tencent: the same refusal, without a call
            raise IMError(Code.ERR_INVALID_PARAMETERS, f"topicInfo.topicID is over {TOPIC_ID_MAX_BYTES} bytes")
        body: dict[str, Any] = {"GroupId": group_id, "From_Account": creator}
        if info.topicID:
            body["TopicId"] = info.topicID
        # create_topic takes no MuteAllMember (B33; the SDK sets it only by modifying a topic)
        body.update({k: v for k, v in topic_fields(info).items() if k != "MuteAllMember" and (v or k == "TopicName")})
        # a custom ID makes a resent create fail as taken, so only those are retried (as groups are)
        answer = await self._call("create_topic", body, idempotent=bool(info.topicID))
        topic_id = answer.get("TopicId")
        if not isinstance(topic_id, str) or topic_parent(topic_id) != group_id:
            # the mirror names a topic's timeline by its ID, which must name its community
            raise bad_answer(f"{SVC}/create_topic", f"TopicId {topic_id!r} is no topic ID of {group_id!r}")
        await self._own(group_action_key(TOPIC_CREATE, group_id, topic_id))
        if info.isAllMuted:
            await self._mute_new_topic(group_id, topic_id, creator, info)
        return topic_id

    async def _mute_new_topic(self, group_id: str, topic_id: str, creator: str, info: TopicInfo) -> None:
        """A topic created muted: create_topic takes no MuteAllMember, so the mute is a modify_topic
        after it, as the SDK's would be. Should that fail, the topic stays as Tencent made it
        (not muted) and `info` says so, for the mirror to keep the same (the creation is done
        either way: failing it would leave Tencent's topic without the mirror's)."""
        body = {"GroupId": group_id, "TopicId": topic_id, "From_Account": creator, "MuteAllMember": "On"}
        try:
            await self._call("modify_topic", body)
        except IMError:
            log.warning("topic %s was created but not muted (modify_topic failed)", topic_id, exc_info=True)
            info.isAllMuted = False

    async def destroy_topics(self, group_id: str, topic_ids: Sequence[str]) -> list[TopicOperationResult]:
        """DestroyResultItem[{ErrorCode, ErrorInfo, TopicId}] per topic; a topic Tencent's answer
        leaves out is reported as not destroyed (the engine then asks whether Tencent still has it)."""
        wanted = list(dict.fromkeys(topic_ids))
        results: dict[str, TopicOperationResult] = {}
        for start in range(0, len(wanted), TOPICS_PER_CALL):
            batch = wanted[start : start + TOPICS_PER_CALL]
            answer = await self._call("destroy_topic", {"GroupId": group_id, "TopicIdList": batch})
            refused = {
                e.key: e.error for e in answer.item_errors("DestroyResultItem", key="TopicId", code_field="ErrorCode")
            }
            named = {str(item.get("TopicId")) for item in answer.result_items("DestroyResultItem")}
            for topic_id in batch:
                error = refused.get(topic_id)
                if error is not None:
                    results[topic_id] = TopicOperationResult(
                        topicID=topic_id, errorCode=error.code, errorMessage=error.desc
                    )
                elif topic_id not in named:
                    results[topic_id] = TopicOperationResult(
                        topicID=topic_id,
                        errorCode=Code.ERR_SDK_INTERNAL_ERROR,
                        errorMessage=f"tencent ({SVC}/destroy_topic) gave no result for this topic",
                    )
                else:
                    results[topic_id] = TopicOperationResult(topicID=topic_id)
                    await self._own(group_action_key(TOPIC_DESTROY, group_id, topic_id))
        return [results[t] for t in topic_ids]

    async def modify_topic(self, group_id: str, by: str, old: TopicInfo, new: TopicInfo) -> None:
        before, after = topic_fields(old), topic_fields(new)
        changed = {k: v for k, v in after.items() if before[k] != v}
        if not changed:
            return  # only the mirror's own draft changed, or nothing
        body = {"GroupId": group_id, "TopicId": new.topicID, "From_Account": by, **changed}
        await self._call("modify_topic", body)
        for name in REPORTED_FIELDS:
            if name in changed:
                # with the topic only: a callback naming none is no echo (TopicInfoChanged.echo_keys)
                field = CALLBACK_NAMES.get(name, name)
                await self._own(topic_info_key(group_id, new.topicID, field, str(changed[name])))

    async def supports_topics(self, group_id: str, viewer: str) -> bool:
        """`supports_topics` (the module's): the engine's probe of a community the mirror holds as
        one without topics (gateway.engine.groups.extras)."""
        return await supports_topics(self._client, group_id, viewer)

    async def fetch_topics(self, group_id: str, viewer: str, topic_ids: Sequence[str] | None) -> list[UpstreamTopic]:
        """get_topic (B33): TopicAndSelfInfo items; one with a non-zero ErrorCode or no TopicInfo is a
        topic Tencent does not have (left out)."""
        batches: list[list[str] | None] = [None]
        if topic_ids is not None:
            wanted = list(dict.fromkeys(topic_ids))
            batches = [wanted[i : i + TOPICS_PER_CALL] for i in range(0, len(wanted), TOPICS_PER_CALL)]
        found: list[UpstreamTopic] = []
        for batch in batches:
            body: dict[str, Any] = {"GroupId": group_id}
            if viewer:
                body["From_Account"] = viewer
            if batch is not None:
                body["TopicIdList"] = batch
            answer = await self._call("get_topic", body)
            for item in answer.result_items("TopicAndSelfInfo"):
                topic = item.get("TopicInfo")
                if lenient_int(item.get("ErrorCode")) != 0 or not isinstance(topic, dict):
                    continue
                if not isinstance(topic.get("TopicId"), str):
                    raise bad_answer(f"{SVC}/get_topic", "a TopicInfo without TopicId")
                found.append(
                    UpstreamTopic(info=topic_from_tencent(topic), next_seq=max(1, lenient_int(topic.get("NextMsgSeq"))))
                )
        return found


async def supports_topics(client: TencentRestClient, group_id: str, viewer: str) -> bool:
    """Whether Tencent serves topics for the community (get_topic answers for topic-enabled ones
    only): what an imported community's isSupportTopic is, since get_group_info's filters name no
    such field. `viewer`: a member (get_topic's From_Account), e.g. the owner."""
    body = {"GroupId": group_id, "From_Account": viewer} if viewer else {"GroupId": group_id}
    try:
        await client.call(f"{SVC}/get_topic", body, idempotent=True)
    except TencentError as refused:
        if refused.tencent_code is None or is_tencent_outage(refused):
            # Tencent did not answer, or could not serve the call now (60008, 70500, a frequency
            # limit): unknown, not "no", which would leave the community without topics
            raise
        return False
    return True
