"""What the session layer needs of one gateway process, and nothing more.

The composition root (gateway.services.Gateway) builds this once; IMSession and Listening take it
instead of the whole Gateway, so the session layer depends on the parts it uses, never on the
root that assembles them (and a test can build a session from these parts alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.backend import IMBackend
from gateway.clock import Clock
from gateway.events.dispatcher import Dispatcher
from gateway.keys import Keys
from gateway.media.signing import MediaSigner
from gateway.media.store import MediaStore
from gateway.metrics import Metrics
from gateway.push.devices import PushDevices
from gateway.session.expiry import ExpiryWatch
from gateway.session.pool import SessionPool
from gateway.session.presence import Presence
from gateway.session.status import StatusService


@dataclass(frozen=True, slots=True)
class SessionServices:
    backend: IMBackend
    sessions: SessionPool
    status: StatusService
    presence: Presence
    expiry: ExpiryWatch  # every subscribed session's UserSig expiry, on one timer
    push_devices: PushDevices
    media_store: MediaStore
    media_signer: MediaSigner
    clock: Clock
    metrics: Metrics
    # the event log's readers: a subscription follows its streams through the process's dispatcher
    redis: Any
    keys: Keys
    dispatcher: Dispatcher
    instance_id: str  # names this process in presence leases
