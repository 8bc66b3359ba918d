"""How an event log entry is written compactly, and read back whichever format it was written in.

Every entry of every stream is kept for days, so its bytes are paid for per event (docs/storage.md):
- the listener is a one-letter code (`listener_code`), not its name;
- a session it is for (or spares) is named by a tag, a prefix of its ID (`session_tag`): enough
  to tell one user's sessions apart, and the session's secret is not copied into the log;
- an event about a message stored in a timeline may be a *reference* to it (`Reference`): a JSON
  array `[kind, conversationID, ...]` that the backend which wrote it resolves into the exact event
  when the entry is read (`Resolver`); any other event is its JSON without default fields;
- a conversation notice is one letter: added to a reference's kind when it is about the
  referenced message's conversation, else written as "<letter>:<conversationID>".

Entries written before this format (full listener names, full session IDs, "new:"/"changed:"
notices, full event JSON) read exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from gateway.im.events import (
    CONVERSATION_LISTENER,
    FRIENDSHIP_LISTENER,
    GROUP_LISTENER,
    MESSAGE_LISTENER,
    SDK_LISTENER,
    SIGNALING_LISTENER,
    IMEvent,
)

_CODES = {
    SDK_LISTENER: "s",
    FRIENDSHIP_LISTENER: "f",
    MESSAGE_LISTENER: "m",
    GROUP_LISTENER: "g",
    CONVERSATION_LISTENER: "c",
    SIGNALING_LISTENER: "x",
}
_LISTENERS = {code: name for name, code in _CODES.items()}

# 8 of a session ID's 32 random base64url characters: 48 bits, so two sessions of one user share a
# tag with odds of one in 2**48
SESSION_TAG_LENGTH = 8

# a conversation notice's kind as written: one letter (older entries spell it out)
NOTICE_NEW = "n"
NOTICE_CHANGED = "c"


def listener_code(listener: str) -> str:
    """What an entry stores for a listener (names with no code, such as the bus's own, stay whole)."""
    return _CODES.get(listener, listener)


def listener_of(stored: str | None, event: str = "") -> str | None:
    """The listener of an entry: the one its stored value names (a code, or a whole name in older
    entries); with none, a reference's (`event`: the entry's event as stored)."""
    if stored is None:
        return MESSAGE_LISTENER if is_reference(event) else None
    return _LISTENERS.get(stored, stored)


def session_tag(session_id: str) -> str:
    return session_id[:SESSION_TAG_LENGTH]


def names_session(stored: str | None, session_id: str, tag: str) -> bool:
    """Whether an entry's stored session (a tag, or a whole ID in older entries) is this session."""
    return stored is not None and stored in (tag, session_id)


REFERENCE_START = "["  # an event that is a reference; a written-out event is a JSON object


class Reference(msgspec.Struct, frozen=True):
    """An event stored by reference to the message it carries: always an advancedMsgListener event
    (its entry names no listener). A backend makes it and resolves it (`Resolver`); the bus adds a
    conversation notice to its kind when the notice is about the message's own conversation."""

    kind: str  # one letter: which event (the backend's)
    conversation: str  # the conversation of the message, as the viewer sees it
    rest: tuple[Any, ...] = ()  # the backend's, JSON-encodable


class _ReferenceHead(msgspec.Struct, array_like=True):
    """What every stored reference starts with; the rest is its resolver's."""

    kind: str  # the reference's kind letter, then its conversation notice's letter, if it has one
    conversation: str


_reference_encoder = msgspec.json.Encoder()
_reference_head = msgspec.json.Decoder(_ReferenceHead)


def encode_reference(reference: Reference, notice: str = "") -> str:
    """`reference` as stored: `[kind + notice, conversation, *rest]` (`notice`: NOTICE_NEW,
    NOTICE_CHANGED or "")."""
    return _reference_encoder.encode([reference.kind + notice, reference.conversation, *reference.rest]).decode()


def is_reference(raw: str) -> bool:
    return raw.startswith(REFERENCE_START)


def reference_notice(raw: str) -> tuple[str, str]:
    """A stored reference's conversation notice: (its letter, or "" if it has none; its conversation)."""
    if not is_reference(raw):
        return "", ""
    try:
        head = _reference_head.decode(raw)
    except msgspec.DecodeError:
        return "", ""
    return head.kind[1:], head.conversation


class Resolver(Protocol):
    """Turns reference entries into their events: the backend that wrote them knows where the
    referenced messages live. None for an entry whose message is gone (a dismissed group's, one
    past the retention): such an entry is skipped, as an undecodable one is."""

    async def resolve(
        self, viewer: str | None, raws: Sequence[str], pipeline: Callable[[], Any] | None = None
    ) -> list[IMEvent | None]:
        """`viewer`: the user whose stream the entries are in; None for a group's stream.
        `pipeline`: given, the reads are queued on a pipeline it makes (a redis-py pipeline's
        methods and `execute()`), e.g. one shared with other callers of the moment
        (gateway.batching.SharedPipelines: a restart's resuming subscriptions)."""
        ...
