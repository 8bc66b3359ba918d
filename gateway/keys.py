"""Every Redis key and channel name imql uses, built in one place.

Layout (Redis Cluster ready: keys that one operation touches share a hash tag):
- `imql:{<app>:u:<user>}:<family>`: one user's data (session, devices, profile, status, events...)
- `imql:{<app>:g:<group>}:<family>`: one group's data
- `imql:{<app>}:<family>`: app-wide indexes (few, small)

The SDKAppID leads every key, so several apps (and test runs) share one Redis safely. IDs are
escaped so that a userID containing `{`, `}` or `:` can neither move a key to another hash slot nor
collide with another user's key.
"""

from __future__ import annotations

from gateway.ids import conversation_group_id, conversation_peer_id
from gateway.im.enums import MessageOpt

_ESCAPES = str.maketrans({"%": "%25", "{": "%7B", "}": "%7D", ":": "%3A", "|": "%7C"})


def escape_id(raw: str) -> str:
    # most ids have none of the five characters: five substring tests cost a fifth of a
    # translate, and a send names a user or group in 20-30 keys
    if "%" in raw or "{" in raw or "}" in raw or ":" in raw or "|" in raw:
        return raw.translate(_ESCAPES)
    return raw


def unescape_id(escaped: str) -> str:
    """`escape_id` undone (what a key found by SCAN names)."""
    for raw, code in _ESCAPE_CODES:
        escaped = escaped.replace(code, raw)
    return escaped


# undone in this order: "%25" last, so an escaped "%" never makes another code
_ESCAPE_CODES = (("{", "%7B"), ("}", "%7D"), (":", "%3A"), ("|", "%7C"), ("%", "%25"))


class Keys:
    def __init__(self, sdkappid: int) -> None:
        self.app = str(sdkappid)
        self._app_prefix = f"imql:{{{self.app}}}"

    # ---- one user -------------------------------------------------------------------------
    def _user(self, user_id: str) -> str:
        return f"imql:{{{self.app}:u:{escape_id(user_id)}}}"

    def session(self, user_id: str, session_id: str) -> str:
        """Hash: the session's user, platform, sig expiry and state."""
        return f"{self._user(user_id)}:session:{session_id}"

    def devices(self, user_id: str) -> str:
        """Hash: platform → the session ID logged in on it (one per platform)."""
        return f"{self._user(user_id)}:devices"

    def profile(self, user_id: str) -> str:
        """Hash: the user's profile; its existence is the account's existence."""
        return f"{self._user(user_id)}:profile"

    def custom_status(self, user_id: str) -> str:
        return f"{self._user(user_id)}:custom-status"

    def presence(self, user_id: str) -> str:
        """Hash: live subscription instance → lease expiry (unix s)."""
        return f"{self._user(user_id)}:presence"

    def status_watchers(self, user_id: str) -> str:
        """Set: users who subscribed to this user's status."""
        return f"{self._user(user_id)}:status-watchers"

    def status_watching(self, user_id: str) -> str:
        """Set: users whose status this user subscribed to."""
        return f"{self._user(user_id)}:status-watching"

    def login_failures(self, user_id: str) -> str:
        return f"{self._user(user_id)}:login-failures"

    def friends(self, user_id: str) -> str:
        """Hash: friend → FriendRecord (remark, friend groups, custom fields, when and how added)."""
        return f"{self._user(user_id)}:friends"

    def friended_by(self, user_id: str) -> str:
        """Set: users who have this user in their friend list (for profile-change fan-out)."""
        return f"{self._user(user_id)}:friended-by"

    def friend_applications(self, user_id: str) -> str:
        """Hash: other user → ApplicationRecord, received (COME_IN) or sent (SEND_OUT)."""
        return f"{self._user(user_id)}:friend-applications"

    def friend_applications_read_at(self, user_id: str) -> str:
        """String: when the user last marked their friend applications read (unix s)."""
        return f"{self._user(user_id)}:friend-applications-read-at"

    def blacklist(self, user_id: str) -> str:
        """Hash: blocked user → when they were blocked (unix s)."""
        return f"{self._user(user_id)}:blacklist"

    def friend_groups(self, user_id: str) -> str:
        """Hash: friend group name → when it was created; membership lives in the friend records."""
        return f"{self._user(user_id)}:friend-groups"

    def relations_imported(self, user_id: str) -> str:
        """String: when the user's relation chain was imported from the upstream IM server (the Tencent
        backend's mirror imports it once, the first time it needs it)."""
        return f"{self._user(user_id)}:relations-imported"

    def user_events(self, user_id: str) -> str:
        """Stream: the durable event log of one user."""
        return f"{self._user(user_id)}:events"

    def resume_base(self, user_id: str, base_id: str) -> str:
        """Hash: group → position a subscription started from (gateway.events.cursor "base")."""
        return f"{self._user(user_id)}:resume-base:{base_id}"

    def user_followed_groups(self, user_id: str) -> str:
        """Hash: group → position in its event stream when the user joined (subscriptions follow it)."""
        return f"{self._user(user_id)}:followed-groups"

    def created_message(self, user_id: str, created_id: str) -> str:
        """Hash: a create*Message result waiting to be sent (draft, and the msgID once sent)."""
        return f"{self._user(user_id)}:created:{created_id}"

    def created_message_finishing(self, user_id: str, created_id: str) -> str:
        """String with a short TTL: the hold on a send's claim, its sender's while it lives
        (gateway.engine.claims), then the one retry's that finishes a send whose sender died."""
        return Keys.finishing_of(self.created_message(user_id, created_id))

    @staticmethod
    def finishing_of(created_key: str) -> str:
        """`created_message_finishing` of the created message whose key is `created_key`."""
        return f"{created_key}:finishing"

    def global_mute(self, user_id: str) -> str:
        """Hash: "c2c" / "group" → until when (unix s) the app's admin muted the user everywhere
        (REST `openconfigsvr/setnospeaking`); read by the send paths' first round trip."""
        return f"{self._user(user_id)}:global-mute"

    def local_message_data(self, user_id: str) -> str:
        """Hash: msgID → this user's localCustomData / localCustomInt for it."""
        return f"{self._user(user_id)}:local-message-data"

    def hidden_messages(self, user_id: str, conversation_id: str) -> str:
        """Set: seqs of messages this user deleted for themselves in one conversation."""
        return f"{self._user(user_id)}:hidden:{escape_id(conversation_id)}"

    def cleared_before(self, user_id: str) -> str:
        """Hash: conversation → seq up to which this user cleared its history."""
        return f"{self._user(user_id)}:cleared"

    def read_times(self, user_id: str) -> str:
        """Hash: conversation → when this user last marked it read (unix s)."""
        return f"{self._user(user_id)}:read-times"

    def push_devices(self, user_id: str) -> str:
        """Hash: platform → that device's push config (setOfflinePushConfig) as JSON."""
        return f"{self._user(user_id)}:push-devices"

    def push_background(self, user_id: str) -> str:
        """Set: sessions whose app is in the background (doBackground, until doForeground)."""
        return f"{self._user(user_id)}:push-background"

    def message_readers(self, timeline: str, seq: int) -> str:
        """Sorted set: who sent a read receipt for the message at `seq` of `timeline` → when (ms)."""
        return f"{timeline}:readers:{seq}"

    def message_extensions(self, timeline: str, seq: int) -> str:
        """Hash: a message's extension key → {"v": value, "n": version} (JSON)."""
        return f"{timeline}:extensions:{seq}"

    def message_side_keys(self, timeline: str, seq: int) -> tuple[str, ...]:
        """Every key of its own that a message at `seq` of `timeline` may have, on the timeline's
        slot: its read receipts, its extensions and its version (which a revocation writes too).
        What deleting the message deletes (gateway.engine.retention); a key added here goes with it."""
        return (
            self.message_readers(timeline, seq),
            self.message_extensions(timeline, seq),
            Keys.message_version(timeline, seq),
        )

    def receive_options(self, user_id: str) -> str:
        """Hash: a receive-option field (`c2c_receive_option_field` / `group_receive_option_field`)
        → V2TIM_MessageOpt."""
        return f"{self._user(user_id)}:receive-options"

    # the fields of `receive_options`: "c2c:<user>" / "group:<group>"
    @staticmethod
    def c2c_receive_option_field(user_id: str) -> str:
        return f"c2c:{user_id}"

    @staticmethod
    def group_receive_option_field(group_id: str) -> str:
        return f"group:{group_id}"

    @staticmethod
    def receive_option_field(conversation_id: str) -> str:
        """The field of a conversation ID (`c2c_<user>` / `group_<group>`)."""
        group = conversation_group_id(conversation_id)
        if group is not None:
            return Keys.group_receive_option_field(group)
        return Keys.c2c_receive_option_field(conversation_peer_id(conversation_id) or "")

    @staticmethod
    def receive_option_group(field: str) -> str | None:
        """The group of a "group:<group>" field; None for a C2C one."""
        return field[6:] if field.startswith("group:") else None

    @staticmethod
    def receive_option(raw: str | bytes | None) -> MessageOpt:
        """A value of the receive-options hash (`receive_options`): the stored V2TIM_MessageOpt,
        receiving when never set. Every reader of the hash decodes with this."""
        return MessageOpt(int(raw)) if raw is not None else MessageOpt.V2TIM_RECEIVE_MESSAGE

    def conversations(self, user_id: str) -> str:
        """Sorted set: conversation → time of its latest message (ms), the conversation list's order."""
        return f"{self._user(user_id)}:conversations"

    def conversation_state(self, user_id: str, family: str) -> str:
        """Hash: conversation → one of the user's per-conversation settings. Families: "draft",
        "custom-data", "pinned", "marks", "deleted" (the orderKey it was deleted at), "c2c-read-ms"."""
        return f"{self._user(user_id)}:conversation-{family}"

    def c2c_unread_index(self, user_id: str) -> str:
        """Sorted set: the user's C2C conversations that may hold unread messages → the newest arrival
        (ms) of a message counting as unread there; member "built" once it covers the user's older
        data (gateway.engine.unread_index)."""
        return f"{self._user(user_id)}:c2c-unread-index"

    def conversation_groups(self, user_id: str) -> str:
        """Hash: conversation group name → its conversation IDs (JSON list)."""
        return f"{self._user(user_id)}:conversation-groups"

    def unread_filters(self, user_id: str) -> str:
        """Hash: canonical filter JSON → 1, the filters the user subscribed unread counts for."""
        return f"{self._user(user_id)}:unread-filters"

    # ---- one C2C timeline (both users' messages, stored once) ------------------------------
    def c2c_timeline(self, a: str, b: str) -> str:
        low, high = sorted((a, b))
        return f"imql:{{{self.app}:c:{escape_id(low)}|{escape_id(high)}}}"

    @staticmethod
    def timeline_seq(timeline: str) -> str:
        """String: the timeline's last seq (INCR)."""
        return f"{timeline}:seq"

    @staticmethod
    def timeline_messages(timeline: str) -> str:
        """Hash: seq → StoredMessage; history pages are HMGETs of seq ranges."""
        return f"{timeline}:messages"

    @staticmethod
    def timeline_countable_for(timeline: str, user_id: str) -> str:
        """Sorted set (C2C): seqs that count as unread for `user_id`, scored by arrival (ms)."""
        return f"{timeline}:countable:{escape_id(user_id)}"

    @staticmethod
    def timeline_at(timeline: str, who: str) -> str:
        """Sorted set (group): seqs of messages that @ `who` ("*" for @ALL), scored by seq."""
        return f"{timeline}:at:{escape_id(who)}"

    @staticmethod
    def timeline_cleared(timeline: str) -> str:
        """Hash (group): seq → StoredMessage of a message the app admin cleared for everyone (REST
        `clear_group_msg`), which only the admin's history read still finds; field "upto": the seq
        cleared up to."""
        return f"{timeline}:cleared"

    @staticmethod
    def timeline_floor(timeline: str) -> str:
        """String: the seq up to which message retention trimmed the timeline (gateway.engine.retention):
        no message at or below it is left, so history paging stops there."""
        return f"{timeline}:floor"

    @staticmethod
    def message_revisions(timeline: str) -> str:
        """Hash: "<seq>:<version>" → a message as it was at that version, kept when a modification
        replaced it: the event-log references to that version resolve to it (gateway.engine.message_events)."""
        return f"{timeline}:revisions"

    @staticmethod
    def message_version(timeline: str, seq: int) -> str:
        """String: bumped by each modification of one message (what modifyMessage races on)."""
        return f"{timeline}:version:{seq}"

    # ---- one group ------------------------------------------------------------------------
    def _group(self, group_id: str) -> str:
        return f"imql:{{{self.app}:g:{escape_id(group_id)}}}"

    def group_info(self, group_id: str) -> str:
        """Hash: a group's profile (V2TIMGroupInfo); its existence is the group's existence."""
        return f"{self._group(group_id)}:info"

    def group_members(self, group_id: str) -> str:
        """Hash: member → MemberRecord (role, join time and order, name card, custom fields, mute)."""
        return f"{self._group(group_id)}:members"

    def group_roster(self, group_id: str) -> str:
        """Sorted set: member → join order; member list pages are score ranges (nextSeq)."""
        return f"{self._group(group_id)}:roster"

    def group_admins(self, group_id: str) -> str:
        """Set: the group's admins (the owner is in the info hash)."""
        return f"{self._group(group_id)}:admins"

    def group_join_counter(self, group_id: str) -> str:
        return f"{self._group(group_id)}:join-counter"

    def group_attributes(self, group_id: str) -> str:
        return f"{self._group(group_id)}:attributes"

    def group_counters(self, group_id: str) -> str:
        return f"{self._group(group_id)}:counters"

    def group_last_sent(self, group_id: str) -> str:
        """Hash: member → when they last sent a message to the group or its topics (unix s; the
        server API's LastSendMsgTime)."""
        return f"{self._group(group_id)}:last-sent"

    def group_applications(self, group_id: str) -> str:
        """Hash: "join:<user>" / "invite:<user>" → a pending application."""
        return f"{self._group(group_id)}:applications"

    def group_topics(self, group_id: str) -> str:
        """Hash: topicID → TopicInfo."""
        return f"{self._group(group_id)}:topics"

    def group_deleted_topics(self, group_id: str) -> str:
        """Hash: a community's deleted topics: `erasingTopic:<topic>` (being erased, up to the seq
        it names; the ID refused for a new topic meanwhile) and `erasedTopic:<topic>` (erased: the
        seq its counter had, which a topic made again under the ID goes on from, taking the record)
        (gateway.engine.groups.topic_erasure). On the community's slot, apart from its info hash
        (read whole by every send), and deleted with the community."""
        return f"{self._group(group_id)}:deleted-topics"

    def group_topic_mutes(self, group_id: str, topic_id: str) -> str:
        """Hash: member → until when (unix s) they are muted in the community's topic `topic_id`
        (muteGroupMember naming a topic). On the community's slot, beside its topics hash: a send
        reads the topic and the sender's mute in one round trip, and the topic's deletion and the
        community's erasure delete it in the same step as the topic."""
        return f"{self._group(group_id)}:topic-mutes:{escape_id(topic_id)}"

    def group_online(self, group_id: str) -> str:
        """Set: members with a live subscription now (getGroupOnlineMemberCount)."""
        return f"{self._group(group_id)}:online"

    def group_former_members(self, group_id: str) -> str:
        """Set: users who left the group (quit or kicked) and have not joined it again, whose side of
        it (conversations, left mark, "deleted for me" marks) its dismissal removes as its members'."""
        return f"{self._group(group_id)}:former-members"

    def user_groups(self, user_id: str) -> str:
        """Hash: group → when this user joined it (the joined-group list)."""
        return f"{self._user(user_id)}:groups"

    def user_group_invitations(self, user_id: str) -> str:
        """Set: groups with an invitation waiting for this user's answer."""
        return f"{self._user(user_id)}:group-invitations"

    def group_applications_read_at(self, user_id: str) -> str:
        return f"{self._user(user_id)}:group-applications-read-at"

    def group_read_seqs(self, user_id: str) -> str:
        """Hash: group conversation → the seq this user has read up to."""
        return f"{self._user(user_id)}:group-read"

    @staticmethod
    def timeline_countable(timeline: str) -> str:
        """Sorted set: seqs of messages that count as unread (read-diffusion unread = ZCOUNT)."""
        return f"{timeline}:countable"

    def group_timeline(self, group_id: str) -> str:
        return self._group(group_id)

    def group_events(self, group_id: str) -> str:
        """Stream: events of a group above the write-diffusion threshold, stored once."""
        return f"{self._group(group_id)}:events"

    def is_group_events(self, key: str) -> bool:
        """Whether `key` is a group's event stream (group_events), not a user's."""
        return key.startswith(f"imql:{{{self.app}:g:") and key.endswith("}:events")

    # ---- app-wide -------------------------------------------------------------------------
    def presence_index(self) -> str:
        """Sorted set: user → latest presence lease expiry; the reaper's to-do list."""
        return f"{self._app_prefix}:presence-index"

    def signaling_invitation(self, invite_id: str) -> str:
        """Hash: one call invitation's parties, state, answers and data (gateway.engine.signaling)."""
        return f"{self._app_prefix}:signaling:{escape_id(invite_id)}"

    def signaling_deadlines(self) -> str:
        """Sorted set: open invitation → when it times out (unix s); every replica's timer reads it."""
        return f"{self._app_prefix}:signaling-deadlines"

    def push_queue(self) -> str:
        """Stream: messages that may need offline pushes, read by every replica's PushWorker group."""
        return f"{self._app_prefix}:push-queue"

    def callback_queue(self) -> str:
        """Stream: after-callbacks waiting for the app's endpoint, read by every replica's CallbackWorker group."""
        return f"{self._app_prefix}:callback-queue"

    def tencent_inbound_queue(self) -> str:
        """Stream: Tencent webhooks accepted by gateway.tencent.webhooks, read by every replica's
        InboundWorker group (gateway.tencent.inbound)."""
        return f"{self._app_prefix}:tencent-inbound"

    @staticmethod
    def dead_letters(stream: str) -> str:
        """Stream: entries of a work stream (the queues above, `push_tasks`) that its consumers gave up
        on (gateway.background.StreamConsumer.max_deliveries); under the stream's hash tag, so one
        transaction moves an entry from one to the other."""
        return f"{stream}:dead-letter"

    def tencent_inbound_seen(self, digest: str) -> str:
        """String (with a TTL): a webhook delivery already queued, named by its dedupe identity's digest."""
        return f"{self._app_prefix}:tencent-seen:{digest}"

    def tencent_own_message(self, digest: str) -> str:
        """String (with a TTL): a message the gateway itself made through REST; its webhook is an echo."""
        return f"{self._app_prefix}:tencent-own:{digest}"

    def tencent_status(self, user_id: str) -> str:
        """String (with a TTL): the user's status at Tencent as last reported (gateway.tencent.status)."""
        return f"{self._user(user_id)}:tencent-status"

    def tencent_synced(self, user_id: str) -> str:
        """Hash: peer → the Tencent MsgTime up to which the user's C2C conversation with them was
        read back from Tencent (gateway.tencent.reconcile)."""
        return f"{self._user(user_id)}:tencent-synced"

    def tencent_groups_synced(self) -> str:
        """Hash: group → the Tencent MsgSeq up to which the group's messages were read back from
        Tencent (gateway.tencent.reconcile_groups)."""
        return f"{self._app_prefix}:tencent-groups-synced"

    def tencent_c2c_ids(self, user_a: str, user_b: str) -> str:
        """Hash: one C2C conversation's messages as the mirror and Tencent name them (gateway.tencent.identity);
        under the first user (in sort order) of the pair."""
        first, second = sorted((user_a, user_b))
        return f"{self._user(first)}:tencent-c2c:{escape_id(second)}"

    def tencent_early_recall(self, user_a: str, user_b: str, tencent_key: str) -> str:
        """String with a TTL: Tencent recalled this C2C message before the mirror had it (its send's
        webhook may come after); beside the conversation's `tencent_c2c_ids`."""
        return f"{self.tencent_c2c_ids(user_a, user_b)}:recalled-early:{escape_id(tencent_key)}"

    def tencent_group_early_recall(self, group_or_topic: str, seq: int) -> str:
        """String with a TTL: Tencent recalled the message at `seq` of this group (or topic) before the
        mirror had it (its send's webhook may come after); the operator's ID. On the slot of the
        timeline that stores the message (`group_timeline`: the group's, or the topic's own)."""
        return f"{self.group_timeline(group_or_topic)}:tencent-recalled-early:{int(seq)}"

    def upstream_turn(self, scope: str) -> str:
        """String (with a TTL): a write of `scope` (a group, a message send, a user's conversation
        groups) in progress (gateway.engine.upstream_turns). A group's or a user's turn is on that
        group's or user's slot: turns taken on every backend must not all land on the app's."""
        kind, _, name = scope.partition(":")
        if kind == "group" and name:
            return f"{self._group(name)}:turn"
        if kind == "conversation-groups" and name:
            return f"{self._user(name)}:conversation-groups-turn"
        return f"{self._app_prefix}:upstream-turn:{escape_id(scope)}"

    def merger_bundle(self, bundle_id: str) -> str:
        """String: the messages a merged message carries, copied when it was created (JSON)."""
        return f"{self._app_prefix}:merger:{bundle_id}"

    def accounts(self) -> str:
        """Sorted set: every account of the app, all scored 0 so that it reads in userID order
        (a lexicographic cursor that a long walk resumes from); kept by Profiles."""
        return f"{self._app_prefix}:accounts"

    def accounts_indexed(self) -> str:
        """String: set once `accounts` holds the accounts created before it was kept (a SCAN)."""
        return f"{self._app_prefix}:accounts-indexed"

    def profile_pattern(self) -> str:
        """The SCAN pattern of every account's profile key (`profile`)."""
        return f"imql:{{{self.app}:u:*}}:profile"

    def user_of_profile(self, key: str) -> str | None:
        """The user whose `profile` key this is, None if it is none."""
        head, tail = f"imql:{{{self.app}:u:", "}:profile"
        if not (key.startswith(head) and key.endswith(tail)):
            return None
        escaped = key[len(head) : -len(tail)]
        return None if "}" in escaped else unescape_id(escaped)

    def push_tasks(self) -> str:
        """Stream: all-member push tasks (REST `im_push`), run by every replica's worker group."""
        return f"{self._app_prefix}:push-tasks"

    def push_task(self, task_id: str) -> str:
        """Hash: one all-member push task: what it sends, how far it got (its account cursor)."""
        return f"{self._app_prefix}:push-task:{escape_id(task_id)}"

    def push_random(self, random: int) -> str:
        """String: the TaskId of the push sent with this MsgRandom (the same push for 7 days)."""
        return f"{self._app_prefix}:push-random:{random}"

    def push_pace(self) -> str:
        """String: when (ms) the app's latest all-member push was accepted."""
        return f"{self._app_prefix}:push-pace"

    def push_daily(self, day: str) -> str:
        """String: how many all-member pushes the app started that (UTC) day, YYYYMMDD."""
        return f"{self._app_prefix}:push-daily:{day}"

    def retention_lock(self) -> str:
        """String (with a TTL): the replica running the message retention's pass (gateway.engine.retention)."""
        return f"{self._app_prefix}:retention-lock"

    def group_activity(self) -> str:
        """Sorted set: group → its latest activity (unix s); the idle-group recycler's list."""
        return f"{self._app_prefix}:group-activity"

    def groups_to_erase(self) -> str:
        """Sorted set: dismissed groups whose history is still to erase → when the entry may be taken
        (unix s): until then a dismissal or an eraser holds it (its lease, gateway.engine.groups.eraser)."""
        return f"{self._app_prefix}:groups-to-erase"

    def groups_erasing(self) -> str:
        """Hash: group → the token of whoever holds its entry of `groups_to_erase` now (the dismissal,
        or a replica's eraser): only the holder renews, hands back or removes it."""
        return f"{self._app_prefix}:groups-erasing"

    def tencent_rate(self, endpoint: str) -> str:
        """Hash: the token bucket of one Tencent REST v4 endpoint ("service/command"), shared by every
        replica (gateway.tencent.limits): tokens left and when they were counted (unix ms)."""
        return f"{self._app_prefix}:tencent-rate:{escape_id(endpoint)}"

    def persisted_query(self, sha256: str) -> str:
        """String: an automatic persisted query's document, by its SHA-256 (lowercase hex), with a
        TTL (gateway.web.documents). Its own hash tag, so a Redis Cluster spreads them."""
        return f"imql:{{{self.app}:pq:{sha256}}}"

    def sessions_ended_channel(self) -> str:
        """Pub/sub: session IDs that ended (logout, kick, expiry), to drop cached copies."""
        return f"{self._app_prefix}:sessions-ended"

    @staticmethod
    def poke_channel(stream_key: str) -> str:
        """Pub/sub: a poke after each append to `stream_key` (never the data itself)."""
        return f"{stream_key}:poke"

    def scan_patterns(self) -> tuple[str, ...]:
        """Glob patterns matching every key of this app (for test clean-up and `imql` admin tools)."""
        return (f"imql:{{{self.app}:*", f"{self._app_prefix}*")
