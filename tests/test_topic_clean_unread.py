"""cleanConversationUnreadMessageCount naming a community topic's conversation ("group_<topicID>").

A topic's conversation is in no conversation list (getTopicInfoList shows each member its unread
count), yet Tencent's SDK lets a member of the community clean its unread count, as
markGroupMessageAsRead naming the topic does: all of it, or (cleanSequence) up to a seq, capped at
the topic's newest as a plain group's is. A stranger to the community is refused as
markGroupMessageAsRead refuses them (10007), an unknown topic or one of a dismissed community as
it refuses those (10010), and nothing changes. The bulk forms ("", "c2c", "group") leave topics
alone: they are none of the list's conversations.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.engine.backend import EmbeddedBackend
from gateway.errors import Code
from tests.support.clients import HTTPClient
from tests.support.conversations import LIST, User, user
from tests.support.engine import embedded
from tests.support.groups import CREATE
from tests.support.servers import InProcessGateway

NO = Code.ERR_NO_PERMISSION
GONE = Code.ERR_GROUP_NOT_FOUND
CLEAN = "mutation($c: String!, $s: Int) { cleanConversationUnreadMessageCount(conversationID: $c, cleanSequence: $s) }"
TOPIC = "mutation($g: String!, $n: String!) { createTopicInCommunity(groupID: $g, topicInfo: {topicName: $n}) }"
TOPICS = "query($g: String!) { getTopicInfoList(groupID: $g, topicIDList: []) { topicInfo { topicID unreadCount } } }"
ONE = "query($c: String!) { getConversation(conversationID: $c) { unreadCount } }"


class World:
    """olive's community (topics `busy` and `quiet`) and work group, mike a member of both."""

    def __init__(self, olive: User, mike: User, community: str, busy: str, quiet: str, work: str) -> None:
        self.olive, self.mike = olive, mike
        self.community, self.busy, self.quiet, self.work = community, busy, quiet, work


async def world(client: HTTPClient, server: InProcessGateway) -> World:
    olive, mike = await user(client, server, "olive"), await user(client, server, "mike")
    made = await olive.q(CREATE, {"t": "V2TIM_GROUP_TYPE_COMMUNITY", "n": "c", "topics": True})
    community = str(made["createGroup"])
    work = str((await olive.q(CREATE, {"t": "V2TIM_GROUP_TYPE_WORK", "n": "w"}))["createGroup"])
    await mike.q("mutation($g: String!) { joinGroup(groupID: $g) }", {"g": community})
    await olive.q(
        'mutation($g: String!) { inviteUserToGroup(groupID: $g, userList: ["mike"]) { result } }', {"g": work}
    )
    busy = str((await olive.q(TOPIC, {"g": community, "n": "busy"}))["createTopicInCommunity"])
    quiet = str((await olive.q(TOPIC, {"g": community, "n": "quiet"}))["createTopicInCommunity"])
    await mike.drain()
    return World(olive, mike, community, busy, quiet, work)


async def send(u: User, to: str, text: str) -> int:
    """The sent message's seq."""
    created = (await u.q("mutation($t: String!) { createTextMessage(text: $t) { id } }", {"t": text}))[
        "createTextMessage"
    ]["id"]
    sent = await u.q(
        "mutation($i: String!, $g: String!) { sendMessage(id: $i, groupID: $g) { seq } }", {"i": created, "g": to}
    )
    return int(sent["sendMessage"]["seq"])


async def unread(w: World, u: User | None = None) -> dict[str, int]:
    """The reader's unread count in each topic (getTopicInfoList) and in the community's and the work
    group's conversations (getConversation)."""
    u = u or w.mike
    seen = {
        r["topicInfo"]["topicID"]: r["topicInfo"]["unreadCount"]
        for r in (await u.q(TOPICS, {"g": w.community}))["getTopicInfoList"]
    }
    for gid in (w.community, w.work):
        seen[gid] = (await u.q(ONE, {"c": f"group_{gid}"}))["getConversation"]["unreadCount"]
    return seen


async def clean(u: User, conversation_id: str, seq: int | None = None) -> list[int]:
    """The refusal's codes ([]: cleaned)."""
    reply = await u.call(CLEAN, {"c": conversation_id, "s": seq})
    return reply.codes


def engine(server: InProcessGateway) -> EmbeddedBackend:
    return embedded(server.gateway.backend)


async def read_marks(server: InProcessGateway, user_id: str) -> dict[str, Any]:
    keys = engine(server).groups.store.keys
    return dict(await server.gateway.redis.hgetall(keys.group_read_seqs(user_id)))


async def test_a_member_cleans_a_topics_unread_count_and_nothing_else(
    client: HTTPClient, server: InProcessGateway
) -> None:
    w = await world(client, server)
    for to, texts in ((w.busy, "ab"), (w.quiet, "c"), (w.community, "d"), (w.work, "e")):
        for text in texts:
            await send(w.olive, to, text)
    assert await unread(w) == {w.busy: 2, w.quiet: 1, w.community: 1, w.work: 1}
    # the bulk forms clean the list's conversations: no topic is one of them
    for bulk in ("group", ""):
        assert await clean(w.mike, bulk) == []
        assert await unread(w) == {w.busy: 2, w.quiet: 1, w.community: 0, w.work: 0}
    await send(w.olive, w.community, "f")
    await send(w.olive, w.work, "g")
    await w.mike.drain()
    # the topic's own conversation: that topic read, the other topic and the groups untouched
    assert await clean(w.mike, f"group_{w.busy}") == []
    assert await unread(w) == {w.busy: 0, w.quiet: 1, w.community: 1, w.work: 1}
    cleaned = await w.mike.drain()
    # told as markGroupMessageAsRead naming a topic tells (the same code announces it)
    await w.mike.q("mutation($g: String!) { markGroupMessageAsRead(groupID: $g) }", {"g": w.quiet})
    assert await unread(w) == {w.busy: 0, w.quiet: 0, w.community: 1, w.work: 1}
    assert [e["type"] for e in cleaned] == [e["type"] for e in await w.mike.drain()]
    # olive's own reads are hers: her counts never moved
    assert await unread(w, w.olive) == {w.busy: 0, w.quiet: 0, w.community: 0, w.work: 0}
    listing = (await w.mike.q(LIST, {"n": None, "c": 100}))["getConversationList"]["conversationList"]
    # the list keeps the community and the work group only: a topic is none of its conversations
    assert {c["conversationID"] for c in listing} == {f"group_{w.community}", f"group_{w.work}"}


async def test_clean_sequence_reads_a_topic_up_to_that_seq_capped_at_its_newest(
    client: HTTPClient, server: InProcessGateway
) -> None:
    w = await world(client, server)
    first, second, _third = [await send(w.olive, w.busy, t) for t in ("a", "b", "c")]
    await send(w.olive, w.quiet, "d")
    assert (await unread(w))[w.busy] == 3
    assert await clean(w.mike, f"group_{w.busy}", second) == []
    assert await unread(w) == {w.busy: 1, w.quiet: 1, w.community: 0, w.work: 0}
    # a lower seq never takes the read mark back
    assert await clean(w.mike, f"group_{w.busy}", first) == []
    assert (await unread(w))[w.busy] == 1
    # beyond the newest: read up to the newest only, so a later message is unread
    assert await clean(w.mike, f"group_{w.busy}", 1_000_000) == []
    assert (await unread(w))[w.busy] == 0
    await send(w.olive, w.busy, "e")
    assert await unread(w) == {w.busy: 1, w.quiet: 1, w.community: 0, w.work: 0}


async def test_a_stranger_to_the_community_is_refused_and_nothing_changes(
    client: HTTPClient, server: InProcessGateway
) -> None:
    w = await world(client, server)
    await send(w.olive, w.busy, "a")
    stranger = await user(client, server, "stranger")
    before = await read_marks(server, "stranger")
    for seq in (None, 1):
        assert await clean(stranger, f"group_{w.busy}", seq) == [NO]
    # as markGroupMessageAsRead naming the topic refuses them
    assert (await stranger.call('mutation { markGroupMessageAsRead(groupID: "%s") }' % w.busy)).codes == [NO]
    assert await read_marks(server, "stranger") == before
    assert f"group_{w.busy}" not in before
    assert await stranger.drain() == []
    await stranger.converged()
    assert await unread(w) == {w.busy: 1, w.quiet: 0, w.community: 0, w.work: 0}


async def test_an_unknown_topic_or_one_of_a_dismissed_community_is_refused(
    client: HTTPClient, server: InProcessGateway
) -> None:
    w = await world(client, server)
    await send(w.olive, w.busy, "a")
    marks = await read_marks(server, "mike")
    ghost = f"{w.community}@TOPIC#_nothere"
    assert await clean(w.mike, f"group_{ghost}") == [GONE]
    assert (await w.mike.call('mutation { markGroupMessageAsRead(groupID: "%s") }' % ghost)).codes == [GONE]
    assert await read_marks(server, "mike") == marks
    assert await unread(w) == {w.busy: 1, w.quiet: 0, w.community: 0, w.work: 0}
    # a deleted topic is unknown too
    await w.olive.q(
        "mutation($g: String!, $t: [String!]!) { deleteTopicFromCommunity(groupID: $g, topicIDList: $t) { topicID errorCode } }",
        {"g": w.community, "t": [w.quiet]},
    )
    assert await clean(w.mike, f"group_{w.quiet}") == [GONE]
    # the community dismissed: its topics with it
    await w.olive.q("mutation($g: String!) { dismissGroup(groupID: $g) }", {"g": w.community})
    marks = await read_marks(server, "mike")
    for seq in (None, 1):
        assert await clean(w.mike, f"group_{w.busy}", seq) == [GONE]
    assert (await w.mike.call('mutation { markGroupMessageAsRead(groupID: "%s") }' % w.busy)).codes == [GONE]
    assert await read_marks(server, "mike") == marks


async def test_a_topic_read_tells_the_reader_of_its_conversation_as_its_messages_did(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """The topic's messages told mike of its conversation with its unread count; a read (either
    way) tells him the count went, as changed (never as a new conversation), and tells no one else."""
    w = await world(client, server)
    conversation = f"group_{w.busy}"
    for text in "ab":
        await send(w.olive, w.busy, text)
    await w.mike.drain()
    assert w.mike.mirror[conversation]["unreadCount"] == 2
    await w.olive.drain()
    await w.mike.q("mutation($g: String!) { markGroupMessageAsRead(groupID: $g) }", {"g": w.busy})
    told = await w.mike.drain()
    assert [e["type"] for e in told] == ["onConversationChanged"]
    assert w.mike.mirror[conversation]["unreadCount"] == 0
    assert not [e for e in await w.olive.drain() if e["type"] in ("onConversationChanged", "onNewConversation")]
    await send(w.olive, w.busy, "c")
    await send(w.olive, w.busy, "d")
    await w.mike.drain()
    assert w.mike.mirror[conversation]["unreadCount"] == 2
    assert await clean(w.mike, conversation, 0) == []
    assert [e["type"] for e in await w.mike.drain()] == ["onConversationChanged"]
    assert w.mike.mirror[conversation]["unreadCount"] == 0
    # the plain group's read is told as before
    await send(w.olive, w.community, "e")
    await w.mike.drain()
    await w.mike.q("mutation($g: String!) { markGroupMessageAsRead(groupID: $g) }", {"g": w.community})
    await w.mike.drain()
    assert w.mike.mirror[f"group_{w.community}"]["unreadCount"] == 0


async def test_two_reads_racing_leave_the_higher_read_mark(client: HTTPClient, server: InProcessGateway) -> None:
    """A read up to a seq and a read of everything, at once: the mark ends at the newest seq,
    whichever write lands last (each is raised, never lowered), for a topic and a plain group."""
    w = await world(client, server)
    group = engine(server).messages.group
    for target in (w.busy, w.community):
        seqs = [await send(w.olive, target, t) for t in "abcdefgh"]
        for _ in range(3):
            for up_to_first in (True, False):  # started in either order
                up_to = group.mark_group_message_as_read("mike", target, until_seq=seqs[1])
                everything = group.mark_group_message_as_read("mike", target)
                await asyncio.gather(*((up_to, everything) if up_to_first else (everything, up_to)))
                assert int((await read_marks(server, "mike"))[f"group_{target}"]) == seqs[-1]
        # and through cleanConversationUnreadMessageCount's own write (the plain group's branch)
        await asyncio.gather(clean(w.mike, f"group_{target}", seqs[0]), clean(w.mike, f"group_{target}"))
        assert int((await read_marks(server, "mike"))[f"group_{target}"]) == seqs[-1]
    assert (await unread(w))[w.busy] == 0


async def test_a_former_member_is_told_of_a_topic_as_they_left_it(client: HTTPClient, server: InProcessGateway) -> None:
    """The announcement of a topic's conversation reads the community's left mark: a member who
    quit sees nothing sent after (no unread count, no last message), as their list's views do."""
    w = await world(client, server)
    await w.mike.q("mutation($g: String!) { quitGroup(groupID: $g) }", {"g": w.community})
    for text in "ab":
        await send(w.olive, w.busy, text)
    await w.mike.drain()
    await engine(server).conversations.announcer.announce({"mike": [f"group_{w.busy}"]}, topics=True)
    await w.mike.drain()
    told = w.mike.mirror[f"group_{w.busy}"]
    assert (told["unreadCount"], told["lastMessage"]) == (0, None)


async def test_a_read_of_everything_sets_a_mark_left_above_the_newest_seq(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """A read mark above the topic's newest seq (a topic the Tencent mirror's upstream made again
    under its ID numbers from 1 again) hides every new message: a read of everything sets it to
    the newest, so the next message counts again; a read up to a seq leaves it (never lowered)."""
    w = await world(client, server)
    keys = engine(server).groups.store.keys
    await server.gateway.redis.hset(keys.group_read_seqs("mike"), f"group_{w.busy}", 50)
    first = await send(w.olive, w.busy, "a")
    assert await clean(w.mike, f"group_{w.busy}", first) == []
    assert int((await read_marks(server, "mike"))[f"group_{w.busy}"]) == 50
    await w.mike.q("mutation($g: String!) { markGroupMessageAsRead(groupID: $g) }", {"g": w.busy})
    assert int((await read_marks(server, "mike"))[f"group_{w.busy}"]) == first
    await send(w.olive, w.busy, "b")
    assert (await unread(w))[w.busy] == 1
