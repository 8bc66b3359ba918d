"""What a subscription hands out: an event with the cursor that resumes right after it."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.im.events import IMEvent, OnKickedOffline, OnUserSigExpired

# Events that end every subscription of the session they are addressed to, once delivered.
TERMINAL_EVENTS: tuple[type[IMEvent], ...] = (OnKickedOffline, OnUserSigExpired)


@dataclass(frozen=True, slots=True)
class Delivery:
    event: IMEvent
    cursor: str
    # set for a group stream's own event, the same for every member: names it, so the GraphQL
    # layer can execute it once for all subscribers with the same document (schema.execution.executor)
    shared: str = ""
