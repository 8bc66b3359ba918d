"""The six listener subscription fields and the event types each one carries.

A listener field is named after its SDK listener (`advancedMsgListener` serves MESSAGE_LISTENER),
so one name serves both; the WebSocket transport uses this table to serve listener subscriptions
without Strawberry's per-subscription machinery (schema.execution.listeners).
"""

from __future__ import annotations

from gateway.im.events import (
    CONVERSATION_LISTENER,
    FRIENDSHIP_LISTENER,
    GROUP_LISTENER,
    MESSAGE_LISTENER,
    SDK_LISTENER,
    SIGNALING_LISTENER,
)
from schema.listeners.common import EventTypes
from schema.listeners.conversations import CONVERSATION_TYPES
from schema.listeners.friendship import FRIENDSHIP_TYPES
from schema.listeners.groups import GROUP_TYPES
from schema.listeners.messages import MESSAGE_TYPES
from schema.listeners.sdk import SDK_TYPES
from schema.listeners.signaling import SIGNALING_TYPES

LISTENER_FIELDS: dict[str, EventTypes] = {
    SDK_LISTENER: SDK_TYPES,
    FRIENDSHIP_LISTENER: FRIENDSHIP_TYPES,
    MESSAGE_LISTENER: MESSAGE_TYPES,
    GROUP_LISTENER: GROUP_TYPES,
    CONVERSATION_LISTENER: CONVERSATION_TYPES,
    SIGNALING_LISTENER: SIGNALING_TYPES,
}
