"""The mirror as Tencent's webhooks write to it: the context every family's appliers get.

Each inbound event becomes the mirror's own server write, made through the mirror's REST v4
server (`gateway.backend.ServerAPI`: the same bodies Tencent's REST takes, with the engine's
server-side semantics: no SDK rule checks, Tencent applied them), inside
`gateway.upstream.from_upstream()` so that nothing goes back up to Tencent. Accounts the mirror
has never seen are fetched from Tencent first (`AccountManager.exists` does that).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway.backend import IMBackend, ServerAPI
from gateway.errors import IMError
from gateway.tencent.identity import TencentIds
from gateway.upstream import GroupBeingErased, MirrorEntry, Upstream, UpstreamReport, from_upstream, reporting

NativeStatus = Callable[[str, str], Awaitable[None]]


class MirrorRefused(RuntimeError):
    """The mirror would not apply an event (e.g. it lacks an account Tencent has)."""


class MirrorWrites:
    def __init__(
        self,
        server: ServerAPI,
        backend: IMBackend,
        entry: MirrorEntry,
        ids: TencentIds,
        upstream: Upstream | None = None,
        native_status: NativeStatus | None = None,
    ) -> None:
        self.server = server  # the mirror's REST v4 server: its server-side writes
        self.entry = entry  # the writes that keep Tencent's time and identity
        self.backend = backend  # the mirror itself: reads, and accounts fetched from Tencent
        self.ids = ids  # which mirror message each Tencent message is
        # Tencent itself, for what an event leaves open (e.g. a relation's state now, when webhooks
        # about it may arrive out of order); None: the events are taken as they come
        self.upstream = upstream
        # a native user's State.StateChange (user, Action): recorded and told to their watchers
        self.native_status = native_status

    async def apply(
        self,
        command: str,
        body: dict[str, Any],
        report: UpstreamReport | None = None,
        *,
        done_already: int | None = None,
    ) -> dict[str, Any]:
        """One server write on the mirror, its answer; a refusal raises, so the worker tries the
        event again (a bounded number of times: gateway.tencent.inbound.MAX_ATTEMPTS). `report`:
        what the webhook said that the REST body cannot (who acted, a join by application, ...);
        `done_already`: the ErrorCode saying the write was made before (a repeat), taken as done."""
        with reporting(report) if report is not None else from_upstream():
            answer = await self.server.call(command, body)
        if answer.get("ErrorCode", 0) not in (0, done_already):
            raise MirrorRefused(f"the mirror refused {command}: {answer.get('ErrorCode')} {answer.get('ErrorInfo')}")
        return answer

    async def know_accounts(self, *user_ids: str) -> None:
        """The accounts in the mirror, fetched from Tencent if new (a write about them needs them)."""
        await self.backend.accounts.exists([u for u in user_ids if u])

    async def know_groups(
        self, *group_ids: str, joined: tuple[str, ...] = (), operator: str = "", by_self: bool = False
    ) -> None:
        """The groups in the mirror, fetched whole from Tencent if new; a new group's members the
        webhook reports joining (`joined`) are announced (onMemberEnter when `by_self`, else
        onMemberInvited by `operator`). A group made again on Tencent under the ID of one the mirror
        is still erasing cannot be taken yet: GroupBeingErased (a ConnectionError), which the
        engine's boundary reports as a store failure, is raised itself, so that the webhook's entry
        waits uncounted and is retried after its claim period (gateway.background.is_transient)."""
        groups = [g for g in group_ids if g]
        try:
            await self.backend.groups.know_groups(groups, joined=joined, operator=operator, by_self=by_self)
        except IMError as exc:
            if isinstance(exc.__cause__, GroupBeingErased):
                raise exc.__cause__ from exc
            raise

    async def know_topics(self, group_id: str, *topic_ids: str, viewer: str = "") -> list[str]:
        """Those of the community's topics the mirror has, those it lacks fetched from Tencent first
        (get_topic as `viewer`, a member), telling nobody: a topic made natively whose creation the
        mirror never heard of (a lost webhook, or made before the gateway served topics)."""
        return await self.backend.groups.know_topics(group_id, [t for t in topic_ids if t], viewer)


# one event type's applier: (the mirror, the event) -> done; raising leaves the event queued
Applier = Callable[[MirrorWrites, Any], Awaitable[None]]
