"""Object identity for client caches (docs/identity.md): GraphQL Global Object Identification.

Every object type with an identity implements `interface Node { id: ID! }`. Its `id` is opaque: the
type's name and the key that names the object among its kind, as a JSON array of strings, base64url
without padding (`["Message", msgID]`, `["Conversation", owner, conversationID]`, ...). So it is
non-empty, the same however the object is reached (history, events, lastMessage, a search), unique
across the graph (the type name is part of it), and `node(id:)` (schema.node) can refetch it.

The ids are worked out from the object itself, plus the viewer for objects that only exist as one
user's (a conversation, a friend, a friend group): no Redis round trip. The viewer is the user the
request's (or the WebSocket connection's) session belongs to, remembered by IMContext.session().

The domain objects (gateway.im) are handed to Strawberry as they are, so each Node type says which
domain class it stands for (an `is_type_of` classmethod): graphql-core asks it for every object of
a type that implements an interface (Strawberry's own check would refuse a domain object), and the
`node` field's answer is resolved to its type by it.
"""

from __future__ import annotations

import base64
import binascii

import msgspec
import strawberry
from graphql import GraphQLResolveInfo

from gateway.errors import Code, IMError, invalid
from schema.context import IMContext

MAX_ID_LENGTH = 2048  # an id's text; keys are IDs the gateway caps well below this

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(list[str])


def global_id(type_name: str, *key: str) -> strawberry.ID:
    """The opaque id of the `type_name` object named by `key`."""
    raw = _enc.encode([type_name, *key])
    return strawberry.ID(base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"))


def parse_global_id(value: str) -> tuple[str, list[str]]:
    """(type name, key) of an id `global_id` made; 6017 for anything else."""
    if not value or len(value) > MAX_ID_LENGTH:
        raise invalid("id is not an object id")
    try:
        parts = _dec.decode(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise invalid("id is not an object id") from exc
    if len(parts) < 2 or not parts[0]:
        raise invalid("id is not an object id")
    return parts[0], parts[1:]


def viewer(info: strawberry.Info[IMContext, None] | GraphQLResolveInfo[IMContext]) -> str:
    """The user whose view an object is: the session's user (resolvers ask for the session before
    any object of theirs is resolved, so this is known, with no round trip)."""
    context: IMContext = info.context
    if not context.viewer:
        raise IMError(Code.ERR_SDK_NOT_LOGGED_IN, "not logged in")
    return context.viewer


@strawberry.interface(
    description="An object with an identity: its `id` is opaque, non-empty, stable and unique across the graph, "
    "so client caches (Apollo, urql, Relay) normalize it as `__typename:id`; `node(id:)` fetches it again."
)
class Node:
    id: strawberry.ID
