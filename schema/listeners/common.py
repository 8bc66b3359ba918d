"""What every listener subscription shares: event → GraphQL object, and the subscription loop."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from strawberry.types import Info

from gateway.events.delivery import Delivery
from gateway.im.events import IMEvent
from schema.context import IMContext
from schema.execution.share import SHARE_ATTRIBUTE
from schema.types import KeyValue

EVENT_DOC = "`cursor` resumes the stream right after this event (pass it as `since`)."


class EventTypes:
    """Pairs each domain event class with its GraphQL type. The GraphQL type has `type`, `cursor`
    and the event's payload fields under the same names, so payload objects pass straight through."""

    def __init__(self, pairs: dict[type[IMEvent], type[Any]]) -> None:
        self._pairs = pairs

    def to_graphql(self, delivery: Delivery) -> Any:
        event = delivery.event
        gql_type = self._pairs.get(type(event))
        if gql_type is None:
            raise TypeError(f"{type(event).__name__} has no GraphQL type in this listener")
        payload = {name: _graphql_value(getattr(event, name)) for name in event.__struct_fields__}
        return gql_type(type=event.__struct_config__.tag, cursor=delivery.cursor, **payload)


async def stream_events(
    info: Info[IMContext, None], listener: str, since: str | None, types: EventTypes
) -> AsyncGenerator[Any, None]:
    session = await info.context.session()
    async for delivery in session.listen(listener, since):
        event = types.to_graphql(delivery)
        if delivery.shared:
            setattr(event, SHARE_ATTRIBUTE, delivery.shared)
        yield event


def _graphql_value(value: object) -> object:
    """Maps travel as key/value lists in GraphQL (as customInfo does); everything else as it is."""
    if isinstance(value, dict):
        return [KeyValue(key=str(k), value=str(v)) for k, v in sorted(value.items())]
    return value
