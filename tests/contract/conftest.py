"""The contract suite: one set of tests run at the backend interface (gateway.backend) against every
backend, the way a session calls it. The `backend` fixture is parametrized by backend name; each
test gets a full Gateway on real Redis (a fresh SDKAppID) built for that backend.

Listener events are read as a device reads them: `listen(user)` opens a session's subscription on
every listener before the call under test; `await device.wait_for(OnX)` then waits for the event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from gateway.backend import IMBackend
from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.errors import IMError
from gateway.im.enums import ElemType
from gateway.im.events import (
    CONVERSATION_LISTENER,
    FRIENDSHIP_LISTENER,
    GROUP_LISTENER,
    MESSAGE_LISTENER,
    SDK_LISTENER,
    SIGNALING_LISTENER,
    IMEvent,
)
from gateway.im.messages import Content, Message, SendOptions, TextElem
from gateway.services import Gateway
from gateway.session.im_session import IMSession
from gateway.session.listening import Listening
from gateway.session.pool import Session
from gateway.tencent.coverage import SERVED
from tests.conftest import REDIS_CLUSTER, REDIS_URL
from tests.support.tencent_pair import running_pair

BACKENDS = ["embedded", "tencent"]
# Where the backend keeps its state: the single Redis every test uses, and the suite's own local
# Redis Cluster (3 masters + 3 replicas, tests/support/redis_cluster.py), so every contract test also
# proves its operation correct when users, groups and timelines live on different shards.
TOPOLOGIES = ["single-redis", "redis-cluster"]
LISTENERS = (
    SDK_LISTENER,
    FRIENDSHIP_LISTENER,
    MESSAGE_LISTENER,
    GROUP_LISTENER,
    CONVERSATION_LISTENER,
    SIGNALING_LISTENER,
)
USERS = ("alice", "bob", "carol")
# Events are written before a call returns and reach a subscription within milliseconds; a
# subscription quiet this long after a call has received everything the call caused.
QUIET_SECONDS = 0.2
E = TypeVar("E", bound=IMEvent)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Tencent backend runs on the single Redis only: its stand-in for Tencent (the cloud of
    tests/support/tencent_pair.py) keeps its state in a second Redis database, which a cluster
    has not; the cluster topology is the engine's, which the embedded rows already cover."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        on_cluster = params is not None and params.params.get("redis_topology") == "redis-cluster"
        (dropped if on_cluster and params is not None and params.params.get("gateway") == "tencent" else kept).append(
            item
        )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=TOPOLOGIES)
def redis_topology(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_url(redis_topology: str, request: pytest.FixtureRequest) -> str:
    if redis_topology == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    return REDIS_URL


@pytest.fixture
def redis_is_cluster(redis_topology: str) -> bool:
    return redis_topology == "redis-cluster" or REDIS_CLUSTER


@pytest.fixture(params=BACKENDS)
async def gateway(request: pytest.FixtureRequest, settings: Settings, redis_url: str) -> AsyncIterator[Gateway]:
    """`embedded`: the engine alone. `tencent`: the Tencent backend in front of imql's own REST v4
    server standing in for Tencent (tests/support/tencent_pair.py); every user is the gateway's, so
    each write goes through REST first and each event comes from the mirror. A test of a family
    the Tencent backend does not serve yet is skipped by `serves`."""
    if request.param == "tencent":
        async with running_pair(settings, redis_url, clock=ManualClock()) as pair:
            gw = pair.gateway.gateway
            for user in USERS:
                await gw.backend.accounts.ensure_account(user)
            yield gw
        return
    gw = Gateway.build(dataclasses.replace(settings, backend=request.param), clock=ManualClock())
    await gw.start()
    try:
        for user in USERS:
            await gw.backend.accounts.ensure_account(user)
        yield gw
    finally:
        await gw.close()


@pytest.fixture(autouse=True)
def serves(request: pytest.FixtureRequest) -> None:
    """Skip a test marked `@pytest.mark.families("groups", ...)` on a backend whose build does not
    serve those families yet (gateway.tencent.coverage.SERVED), saying which."""
    marker = request.node.get_closest_marker("families")
    callspec = getattr(request.node, "callspec", None)
    if marker is None or callspec is None or callspec.params.get("gateway") != "tencent":
        return
    missing = [f for f in marker.args if not SERVED.get(f)]
    if missing:
        pytest.skip(f"the Tencent backend of this build does not serve {', '.join(missing)} yet")


@pytest.fixture
def backend(gateway: Gateway) -> IMBackend:
    return gateway.backend


class Device:
    """One logged-in session of a user, subscribed to every listener."""

    def __init__(self, gw: Gateway, user: str, session_id: str) -> None:
        self.user = user
        self.session_id = session_id
        session = IMSession(
            gw.session_services,
            Session(user_id=user, session_id=session_id, platform="web", expires_at=2**40, token="t"),
        )
        self._listenings: list[Listening] = [session.listening(name, None) for name in LISTENERS]
        self.events: list[IMEvent] = []

    async def open(self) -> None:
        for listening in self._listenings:
            await listening.open()  # the opening events (onConnecting, onSyncServer*) are not kept

    async def close(self) -> None:
        for listening in self._listenings:
            await listening.close()

    async def _pull(self) -> None:
        for listening in self._listenings:
            self.events += [d.event for d in await listening.drain()]

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, kind: type[E], where: Callable[[E], bool] = lambda e: True, timeout: float = 5.0) -> E:
        """The first event of this kind (that `where` accepts) received, waiting for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self._pull()
            for event in self.of(kind):
                if where(event):
                    return event
            if loop.time() > deadline:
                raise AssertionError(
                    f"{self.user} got no {kind.__name__}; got {[type(e).__name__ for e in self.events]}"
                )
            await asyncio.sleep(0.01)

    async def settle(self) -> list[IMEvent]:
        """Everything received once the subscriptions have been quiet for QUIET_SECONDS."""
        await asyncio.sleep(QUIET_SECONDS)
        await self._pull()
        return self.events

    def clear(self) -> None:
        self.events.clear()


@pytest.fixture
async def listen(gateway: Gateway) -> AsyncIterator[Callable[[str], Awaitable[Device]]]:
    devices: list[Device] = []
    numbers = itertools.count(1)

    async def open_device(user: str) -> Device:
        device = Device(gateway, user, f"{user}-dev{next(numbers)}")
        await device.open()
        devices.append(device)
        return device

    yield open_device
    for device in devices:
        await device.close()


def text(body: str) -> Content:
    return Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=body))


async def send_text(
    backend: IMBackend, sender: str, receiver: str, body: str, session_id: str = "s-send", **options: Any
) -> Message:
    created = await backend.messages.create_message(sender, text(body))
    return await backend.messages.send_c2c_message(sender, session_id, created.id, receiver, SendOptions(**options))


async def send_group_text(backend: IMBackend, sender: str, group_id: str, body: str) -> Message:
    created = await backend.messages.create_message(sender, text(body))
    return await backend.messages.send_group_message(sender, "s-send", created.id, group_id, SendOptions())


async def refused(call: Awaitable[Any]) -> int:
    """The IMError code the call is refused with (fails the test when it is not refused)."""
    with pytest.raises(IMError) as caught:
        await call
    return caught.value.code


def texts(messages: Sequence[Message]) -> list[str]:
    return [m.textElem.text for m in messages if m.textElem is not None]
