"""The composition root: every long-lived part of one gateway process, built and closed once.

Created in the app's lifespan and handed down explicitly: the GraphQL context carries it, and the
session layer gets the narrow `SessionServices` built from it. This and gateway.cli are the only
modules above the engine that import gateway.engine (tests/test_layers.py holds them to it).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from gateway.backend import IMBackend, ServerAPI
from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.engine.all_member_push import AllMemberPushWorker
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.callbacks.sender import CallbackSender
from gateway.engine.callbacks.worker import CallbackWorker
from gateway.engine.groups.eraser import GroupEraserLoop
from gateway.engine.mirror_entry import EngineMirrorEntry
from gateway.engine.push.sink import WebhookSink
from gateway.engine.push.worker import PushWorker
from gateway.engine.rest import EmbeddedServerAPI
from gateway.engine.rest.context import RestContext
from gateway.engine.unread_index import UnreadIndex
from gateway.errors import IMError
from gateway.events.bus import EventBus
from gateway.events.dispatcher import Dispatcher
from gateway.housekeeping import GroupRecycler, InvitationTimer, MessageRetention
from gateway.keys import Keys
from gateway.media.signing import LASTING_URL_TTL_SECONDS, MediaSigner
from gateway.media.store import FileMediaStore, MediaStore, is_media_key
from gateway.metrics import Metrics
from gateway.push.devices import PushDevices
from gateway.ratelimit import RateLimiter
from gateway.session.control import GatewaySessionControl
from gateway.session.expiry import ExpiryWatch
from gateway.session.im_session import IMSession
from gateway.session.pool import SessionPool
from gateway.session.presence import Presence
from gateway.session.services import SessionServices
from gateway.session.status import StatusService
from gateway.store import close_redis, open_redis, open_worker_redis
from gateway.tencent.client import TencentRestClient
from gateway.tencent.coverage import TencentBackend
from gateway.tencent.identity import TencentIds
from gateway.tencent.inbound import InboundHandler, InboundWorker, LoggingHandler, OwnMessages
from gateway.tencent.limits import EndpointLimiter
from gateway.tencent.mirror import Mirror
from gateway.tencent.mirror_writes import MirrorWrites
from gateway.tencent.reconcile import Reconciler
from gateway.tencent.status import TencentStatus
from gateway.tencent.upstream import TencentUpstream
from gateway.tencent.webhooks import WebhookReceiver

log = logging.getLogger("imql")

READY_TIMEOUT_SECONDS = 0.8  # /readyz answers within 1 s whatever state Redis is in


def reconcile_when_online(presence: Presence, reconciler: Reconciler) -> Callable[[str], Awaitable[None]]:
    """Presence's listener: a user who just came online is reconciled with Tencent."""

    async def listener(user_id: str) -> None:
        (online,) = await presence.online([user_id])
        if online:
            await reconciler.user_came_online(user_id)

    return listener


@dataclass
class Gateway:
    settings: Settings
    clock: Clock
    redis: Any
    keys: Keys
    metrics: Metrics
    bus: EventBus
    dispatcher: Dispatcher
    backend: IMBackend
    sessions: SessionPool
    presence: Presence
    status: StatusService
    rate_limiter: RateLimiter
    instance_id: str
    recycler: GroupRecycler | None  # None for a backend without housekeeping
    invitation_timer: InvitationTimer | None
    retention: MessageRetention | None  # IMQL_MESSAGE_RETENTION_DAYS; None without housekeeping
    group_eraser: GroupEraserLoop  # erases dismissed groups' history (the mirror's too, on Tencent)
    push_devices: PushDevices
    push_worker: PushWorker | None  # None while no push sink is configured
    callback_worker: CallbackWorker | None  # after-callbacks; None while IMQL_CALLBACK_URL is unset
    all_member_push_worker: AllMemberPushWorker  # runs REST im_push tasks
    expiry: ExpiryWatch  # every subscribed session's UserSig expiry, on one timer
    media_store: MediaStore
    media_signer: MediaSigner
    session_services: SessionServices
    server_api: ServerAPI | None  # Tencent's REST v4, on a backend that is its own IM server
    # Tencent's webhooks (gateway.tencent): the route's receiver and the queue's worker; None while
    # IMQL_TENCENT_CALLBACK_TOKEN is unset
    tencent_webhooks: WebhookReceiver | None = None
    tencent_inbound: InboundWorker | None = None
    tencent_reconciler: Reconciler | None = None  # the Tencent backend's read-back of lost webhooks
    worker_clients: list[Any] = field(default_factory=list)  # background consumers' own Redis clients

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        redis: Any = None,
        inbound_handler: InboundHandler | None = None,
    ) -> Gateway:
        """`inbound_handler` gets Tencent's webhooks as events (gateway.tencent.inbound); until the
        Tencent backend is that handler, they are logged (LoggingHandler)."""
        clock = clock or SystemClock()
        metrics = Metrics()
        if redis is None:
            redis = open_redis(
                settings.redis_url,
                cluster=settings.redis_cluster,
                wait_replicas=settings.redis_wait_replicas,
                on_round_trip=metrics.redis_round_trips.inc,
            )
        keys = Keys(settings.sdkappid)
        bus = EventBus(redis, keys, clock)
        instance_id = secrets.token_hex(6)
        media_signer = MediaSigner(settings.secret_key)
        admins = settings.admin_identifiers
        first_admin = min(admins) if admins else "administrator"

        public_url = settings.public_url or ""

        def media_url_for_admin(ref: str) -> str:
            # an upload is named by its key in stored messages: the app's servers get a signed URL
            return public_url + media_signer.url(ref, first_admin, clock.now()) if is_media_key(ref) else ref

        def media_url_for_tencent(ref: str) -> str:
            # a message Tencent keeps: its other clients open the URL for as long as it is kept
            if not is_media_key(ref):
                return ref
            return public_url + media_signer.url(ref, first_admin, clock.now(), LASTING_URL_TTL_SECONDS)

        callback_sender = None
        if settings.callback_url is not None:
            callback_sender = CallbackSender(
                settings.callback_url,
                settings.callback_token,
                settings.sdkappid,
                clock,
                settings.callback_timeout_seconds,
            )
        callbacks = Callbacks(
            redis,
            keys,
            clock,
            callback_sender,
            commands=settings.callback_commands,
            fail_closed=settings.callback_fail_closed,
            media_url=media_url_for_admin,
        )
        own_messages = OwnMessages(redis, keys)
        upstream = None
        if settings.backend == "tencent":
            # Tencent is the IM server; the embedded engine is its local mirror (docs/tencent-design.md)
            client = TencentRestClient.from_settings(
                settings, limiter=EndpointLimiter(redis, keys, clock), clock=clock, metrics=metrics
            )
            tencent_ids = TencentIds(redis, keys)
            status_upstream = TencentStatus(client, redis, keys)
            upstream = TencentUpstream(client, own_messages, tencent_ids, status_upstream, media_url_for_tencent)
        embedded = EmbeddedBackend(
            redis=redis,
            keys=keys,
            bus=bus,
            clock=clock,
            friends_only=settings.friends_only,
            offline_push=settings.push_webhook_url is not None,
            callbacks=callbacks,
            upstream=upstream,
            # its group eraser's count, the dismissals' and topic deletions' own parts with its loop's
            on_erased=metrics.group_messages_erased.inc,
        )
        # the engine's logs keep message events by reference: its MessageEvents resolves them
        dispatcher = Dispatcher(redis, keys, metrics, resolver=embedded.message_events)
        # background stream consumers that block on reads for up to a second while their stream is
        # empty (callbacks, push, Tencent inbound: each runs only when configured) are each on a
        # client of its own, not on the request pool's few connections
        # (gateway.store.POOL_MAX_CONNECTIONS), which they and the bus would otherwise hold all of,
        # starving requests. The all-member push worker, always on, does not block: woken through
        # the dispatcher's pub/sub connection, it reads on the request pool.
        worker_clients: list[Any] = []  # closed with the gateway

        def worker_redis() -> Any:
            client = open_worker_redis(settings.redis_url, redis, cluster=settings.redis_cluster)
            if client is not redis:
                worker_clients.append(client)
            return client

        callback_worker = None
        if callback_sender is not None:
            callbacks_redis = worker_redis()  # its UnreadMsgNum counts too: off the request pool
            unread = UnreadIndex(callbacks_redis, keys)
            callback_worker = CallbackWorker(
                callbacks_redis, keys, callback_sender, unread.totals, consumer=instance_id
            )
        # with Tencent upstream, only what is written through is served (gateway.tencent.coverage)
        backend: IMBackend = embedded if upstream is None else TencentBackend(embedded)
        presence = Presence(redis, keys, clock, metrics)
        sessions = SessionPool(
            redis=redis,
            keys=keys,
            clock=clock,
            bus=bus,
            dispatcher=dispatcher,
            backend=backend,
            metrics=metrics,
            sdkappid=settings.sdkappid,
            secret_key=settings.secret_key,
        )
        status = StatusService(
            redis=redis,
            keys=keys,
            bus=bus,
            presence=presence,
            logged_in=sessions.is_logged_in,
            exists=backend.accounts.exists,
            upstream=upstream.status if upstream is not None else None,
        )
        housekeeping = backend.housekeeping
        if housekeeping is not None:

            async def groups_follow_presence(user_ids: list[str]) -> None:
                online = await presence.online(user_ids)
                await housekeeping.presence_changed_many(list(zip(user_ids, online, strict=True)))

            presence.on_changes(groups_follow_presence)
        if callbacks.enabled:

            async def state_callback(user_id: str) -> None:
                (online,) = await presence.online([user_id])
                await callbacks.state_changed(user_id, online)

            presence.on_change(state_callback)
        push_devices = PushDevices(redis, keys, clock)
        push_worker = None
        if settings.push_webhook_url is not None and settings.push_webhook_secret is not None:
            sink = WebhookSink(settings.push_webhook_url, settings.push_webhook_secret, clock)
            push_worker = PushWorker(
                worker_redis(),
                keys,
                embedded.push_planner,
                push_devices,
                sink,
                sdkappid=settings.sdkappid,
                consumer=instance_id,
            )
        expiry = ExpiryWatch(clock, sessions.notify_expired)
        all_member_push_worker = AllMemberPushWorker(
            redis, keys, embedded.all_member_push, presence.online, consumer=instance_id
        )
        dispatcher.on_appended(keys.push_tasks(), all_member_push_worker.wake)
        media_store = FileMediaStore(settings.data_dir / "media")
        # the engine's REST v4 server: the gateway's own /v4 on the embedded backend; with Tencent
        # upstream, only the mirror's entry for Tencent's webhooks (the app calls Tencent's REST)
        engine_api = EmbeddedServerAPI(
            RestContext(
                engine=embedded,
                sessions=GatewaySessionControl(sessions, presence),
                clock=clock,
                admins=admins,
                media_url=media_url_for_admin,
            )
        )
        server_api = engine_api if upstream is None else None
        reconciler = None
        if upstream is not None and inbound_handler is None:
            tencent_status = upstream.status

            async def native_status(user_id: str, action: str) -> None:
                if await tencent_status.reported(user_id, action):
                    await status.changed_upstream(user_id)

            entry = EngineMirrorEntry(embedded.messages)
            mirror_writes = MirrorWrites(engine_api, embedded, entry, upstream.ids, upstream, native_status)
            inbound_handler = Mirror(mirror_writes)
            reconciler = Reconciler(upstream.client, mirror_writes, redis, keys, clock)
            presence.on_change(reconcile_when_online(presence, reconciler))
        tencent_webhooks = tencent_inbound = None
        if settings.tencent_callback_token:
            tencent_webhooks = WebhookReceiver(
                redis, keys, clock, sdkappid=settings.sdkappid, token=settings.tencent_callback_token
            )
            tencent_inbound = InboundWorker(
                worker_redis(),
                keys,
                inbound_handler or LoggingHandler(),
                own_messages,
                consumer=instance_id,
            )
        for consumer in (push_worker, callback_worker, all_member_push_worker, tencent_inbound):
            if consumer is not None:
                consumer.report_to(metrics)  # counts the entries each gives up on (gateway.background)
        return cls(
            settings=settings,
            clock=clock,
            redis=redis,
            keys=keys,
            metrics=metrics,
            bus=bus,
            dispatcher=dispatcher,
            backend=backend,
            sessions=sessions,
            presence=presence,
            status=status,
            rate_limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
            instance_id=instance_id,
            recycler=GroupRecycler(housekeeping, clock, settings.group_recycle_days)
            if housekeeping is not None
            else None,
            invitation_timer=InvitationTimer(housekeeping, clock) if housekeeping is not None else None,
            retention=MessageRetention(housekeeping, clock, settings.message_retention_days)
            if housekeeping is not None
            else None,
            group_eraser=GroupEraserLoop(embedded.groups.eraser, clock, metrics=metrics),
            push_devices=push_devices,
            push_worker=push_worker,
            callback_worker=callback_worker,
            all_member_push_worker=all_member_push_worker,
            expiry=expiry,
            media_store=media_store,
            media_signer=media_signer,
            session_services=SessionServices(
                backend=backend,
                sessions=sessions,
                status=status,
                presence=presence,
                expiry=expiry,
                push_devices=push_devices,
                media_store=media_store,
                media_signer=media_signer,
                clock=clock,
                metrics=metrics,
                redis=redis,
                keys=keys,
                dispatcher=dispatcher,
                instance_id=instance_id,
            ),
            server_api=server_api,
            tencent_webhooks=tencent_webhooks,
            tencent_inbound=tencent_inbound,
            tencent_reconciler=reconciler,
            worker_clients=worker_clients,
        )

    async def start(self) -> None:
        await self.dispatcher.start()
        if self.tencent_reconciler is not None:
            self.tencent_reconciler.start_periodic(self.presence.local_users, self.settings.tencent_reconcile_seconds)
        self.presence.start()
        for loop in (self.recycler, self.invitation_timer, self.retention):
            if loop is not None:
                loop.start()
        self.group_eraser.start()
        self.expiry.start()
        if self.push_worker is not None:
            self.push_worker.start()
        if self.callback_worker is not None:
            self.callback_worker.start()
        if self.tencent_inbound is not None:
            self.tencent_inbound.start()
        self.all_member_push_worker.start()

    async def close(self) -> None:
        await self.all_member_push_worker.stop()
        if self.push_worker is not None:
            await self.push_worker.stop()
        if self.callback_worker is not None:
            await self.callback_worker.stop()
        if self.tencent_inbound is not None:
            await self.tencent_inbound.stop()
        if self.tencent_reconciler is not None:
            await self.tencent_reconciler.close()
        if self.invitation_timer is not None:
            await self.invitation_timer.stop()
        await self.expiry.stop()
        if self.recycler is not None:
            await self.recycler.stop()
        if self.retention is not None:
            await self.retention.stop()
        await self.group_eraser.stop()
        await self.presence.stop()
        await self.dispatcher.stop()
        await self.backend.close()
        for client in self.worker_clients:
            await close_redis(client)
        await close_redis(self.redis)

    async def unready_reason(self) -> str:
        """ "" when the gateway can serve, else why not, within READY_TIMEOUT_SECONDS: a probe must
        answer in bounded time even while Redis is stalled (a stalled Redis keeps the socket open,
        so without a deadline the probe waited as long as the stall). With an upstream IM server
        (the Tencent backend), it must answer too (asked at most every few seconds)."""
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await self.redis.ping()
        except (RedisError, OSError, TimeoutError):
            self.metrics.redis_failures.inc()
            return "Redis does not answer in time"
        if self.backend.name == "embedded":
            return ""
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await self.backend.ping()
        except TimeoutError:
            return f"the {self.backend.name} backend does not answer in time"
        except IMError as exc:
            return f"the {self.backend.name} backend: {exc.desc}"
        return ""

    async def session_for(self, token: str | None) -> IMSession:
        session = await self.sessions.resolve(token)
        self.rate_limiter.check(session.user_id)
        return IMSession(self.session_services, session)
