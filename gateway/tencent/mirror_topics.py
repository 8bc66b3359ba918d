"""Community topics from Tencent's webhooks into the mirror: creations, destructions, info changes.

Each applier writes through the mirror's REST v4 server with Tencent's own body for the change
(`million_group_open_http_svc/create_topic`, `destroy_topic`, `modify_topic`), so imql members hear
what an SDK member would (onTopicCreated, onTopicDeleted, onTopicInfoChanged). Each compares with
the mirror first and writes only what differs, so an echo of the gateway's own write that was not
dropped as one (its keys are recorded once Tencent took the write: gateway.tencent.topics) tells
nobody twice; one that arrives before the gateway's own mirror write waits for it (the community's
turn) and then finds nothing to do.

Tencent's callbacks say little: `Group.CallbackAfterCreateTopic` names the topic's name only, and
`Group.CallbackAfterTopicInfoChanged` names the changed name, introduction, notification and face
but, in Tencent's sample, not the topic (MAPPING.md 4.3). So the topic is read from Tencent
(`get_topic`, as the community's owner, a member) for the whole of it: a created topic with every
field, and for an info change every topic the mirror has (or the one named), each written where it
differs. A topic the mirror has never seen is imported when first needed (by a message about it,
or an SDK call naming it: `MirrorWrites.know_topics`), telling nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gateway.errors import Code
from gateway.ids import topic_parent
from gateway.tencent.inbound import TopicCreated, TopicInfoChanged, TopicsDestroyed
from gateway.tencent.mirror_groups import mirrored
from gateway.tencent.mirror_writes import Applier, MirrorWrites
from gateway.tencent.topics import topic_fields
from gateway.upstream import UpstreamReport

log = logging.getLogger("imql.tencent")

TOPIC_SVC = "million_group_open_http_svc"
# the fields Group.CallbackAfterTopicInfoChanged names: (its name, modify_topic's name)
CALLBACK_FIELDS = (
    ("Name", "TopicName"),
    ("Introduction", "Introduction"),
    ("Notification", "Notification"),
    ("FaceUrl", "FaceUrl"),
)


async def owner_of(mirror: MirrorWrites, group_id: str) -> str | None:
    """The community's owner in the mirror (the member Tencent's topics are read as), or None when
    the mirror has not got the community."""
    group = await mirrored(mirror, group_id)
    return None if group is None else str(group.get("Owner_Account") or "")


async def topic_known(mirror: MirrorWrites, group_id: str, topic_id: str) -> bool:
    """Whether the mirror has the community and the topic, the topic fetched from Tencent first
    if only Tencent has it (a topic message can be the first the mirror hears of it)."""
    owner = await owner_of(mirror, group_id)
    if owner is None or topic_parent(topic_id) != group_id:
        return False
    return bool(await mirror.know_topics(group_id, topic_id, viewer=owner))


async def mirrored_topics(mirror: MirrorWrites, group_id: str, topic_ids: Sequence[str] | None) -> dict[str, Any]:
    """The mirror's get_topic `TopicInfo` of each of the topics it has (None: all), by ID."""
    body: dict[str, Any] = {"GroupId": group_id}
    if topic_ids is not None:
        body["TopicIdList"] = list(topic_ids)
    answer = await mirror.apply(f"{TOPIC_SVC}/get_topic", body)
    return {
        str(item["TopicInfo"]["TopicId"]): item["TopicInfo"]
        for item in answer.get("TopicAndSelfInfo", [])
        if item.get("ErrorCode", 0) == 0 and isinstance(item.get("TopicInfo"), dict)
    }


async def topic_created(mirror: MirrorWrites, event: TopicCreated) -> None:
    """onTopicCreated, unless the mirror has the topic (the gateway's own, or imported)."""
    if topic_parent(event.topic_id) != event.group_id:
        # the mirror names a topic's timeline by its ID, which must name its community
        log.warning("topic %r is no topic ID of %r; not mirrored", event.topic_id, event.group_id)
        return
    await mirror.know_groups(event.group_id)  # a community new here: imported as it is now
    owner = await owner_of(mirror, event.group_id)
    if owner is None or await mirrored_topics(mirror, event.group_id, [event.topic_id]):
        return
    fields: dict[str, Any] = {"TopicName": event.name}
    if mirror.upstream is not None:  # the callback names the topic's name only: the rest from Tencent
        found = await mirror.upstream.topics.fetch_topics(event.group_id, owner, [event.topic_id])
        if not found:
            return  # destroyed since: its own webhook says so (and there is nothing to tell)
        fields = topic_fields(found[0].info)
    if not fields.get("TopicName"):
        log.warning("topic %r of %r has no name; not mirrored", event.topic_id, event.group_id)
        return
    await mirror.apply(
        f"{TOPIC_SVC}/create_topic",
        {"GroupId": event.group_id, "TopicId": event.topic_id, **fields},
        UpstreamReport(operator=event.operator),
        done_already=Code.ERR_GROUP_ID_TAKEN,  # written meanwhile (the gateway's own creation)
    )


async def topics_destroyed(mirror: MirrorWrites, event: TopicsDestroyed) -> None:
    """onTopicDeleted of the topics the mirror has (the others are gone already, or never were)."""
    if not event.topic_ids or await mirrored(mirror, event.group_id) is None:
        return
    present = list(await mirrored_topics(mirror, event.group_id, event.topic_ids))
    if present:
        await mirror.apply(f"{TOPIC_SVC}/destroy_topic", {"GroupId": event.group_id, "TopicIdList": present})


async def topic_info_changed(mirror: MirrorWrites, event: TopicInfoChanged) -> None:
    """onTopicInfoChanged of each topic whose info, read from Tencent, differs from the mirror's:
    the one the callback names, or (Tencent's sample names none) every topic the mirror has."""
    owner = await owner_of(mirror, event.group_id)
    if owner is None:
        await mirror.know_groups(event.group_id)  # imported as it is now: nothing to announce
        return
    named = [event.topic_id] if event.topic_id else None
    current = await mirrored_topics(mirror, event.group_id, named)
    if event.topic_id and event.topic_id not in current:
        await mirror.know_topics(event.group_id, event.topic_id, viewer=owner)  # imported as it is now
        return
    if not current:
        return
    fresh: dict[str, dict[str, Any]] = {}
    if mirror.upstream is not None:
        topics = await mirror.upstream.topics.fetch_topics(event.group_id, owner, list(current))
        fresh = {t.info.topicID: topic_fields(t.info) for t in topics}
    elif event.topic_id:  # no Tencent to ask: what the callback says
        reported = {
            "Name": event.name,
            "Introduction": event.introduction,
            "Notification": event.notification,
            "FaceUrl": event.face_url,
        }
        fresh = {event.topic_id: {rest: reported[cb] for cb, rest in CALLBACK_FIELDS if reported[cb] is not None}}
    else:
        log.info("a topic info change of %s names no topic and Tencent cannot be asked", event.group_id)
        return
    for topic_id, fields in fresh.items():
        mine = current.get(topic_id)
        if mine is None:
            continue  # not in the mirror: imported, whole, when first needed
        changed = {k: v for k, v in fields.items() if mine.get(k) != v and (v or k != "TopicName")}
        if changed:
            body = {"GroupId": event.group_id, "TopicId": topic_id, **changed}
            await mirror.apply(f"{TOPIC_SVC}/modify_topic", body, UpstreamReport(operator=event.operator))


APPLIERS: dict[type[Any], Applier] = {
    TopicCreated: topic_created,
    TopicsDestroyed: topics_destroyed,
    TopicInfoChanged: topic_info_changed,
}
