"""Assembling the schema: root types merged from one part per manager, limits on by default."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.caching import SafeParserCache
from schema.conversations import ConversationMutation, ConversationQuery
from schema.enums import ALL_ENUMS
from schema.errors import IMErrors
from schema.execution import arguments as argument_conversion
from schema.execution.executor import SharedEventExecutor, SharedResults
from schema.execution.http import QueryPlans
from schema.execution.listeners import EventRenderer, ListenerPlans
from schema.friendship import FriendshipMutation, FriendshipQuery
from schema.groups import GroupMutation, GroupQuery, resolve_set_group_info
from schema.limits import ALIASES_RULE, CACHE_SIZE, DEPTH_RULE, MAX_TOKENS
from schema.listeners.conversations import ConversationSubscription
from schema.listeners.friendship import FriendshipSubscription
from schema.listeners.groups import GroupSubscription
from schema.listeners.messages import MessageSubscription
from schema.listeners.position import ListenerQuery
from schema.listeners.sdk import SDKSubscription
from schema.listeners.signaling import SignalingSubscription
from schema.manager import ManagerMutation, ManagerQuery
from schema.messages import MessageMutation, MessageQuery
from schema.names import RememberingNameConverter
from schema.node import NodeQuery
from schema.observability import OperationMetrics
from schema.push import PushMutation
from schema.signaling import SignalingMutation, SignalingQuery, resolve_add_invited_signaling
from schema.types import INFO_ARGUMENT, LONG_SCALAR, Long

Query = merge_types(
    "Query",
    (
        ManagerQuery,
        MessageQuery,
        GroupQuery,
        ConversationQuery,
        FriendshipQuery,
        SignalingQuery,
        ListenerQuery,
        NodeQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        ManagerMutation,
        MessageMutation,
        GroupMutation,
        ConversationMutation,
        FriendshipMutation,
        SignalingMutation,
        PushMutation,
    ),
)
Subscription = merge_types(
    "Subscription",
    (
        SDKSubscription,
        MessageSubscription,
        GroupSubscription,
        ConversationSubscription,
        FriendshipSubscription,
        SignalingSubscription,
    ),
)
# Mutations whose argument is named `info` (the SDK's name), and the resolvers that take it
# (schema.types.INFO_ARGUMENT).
INFO_ARGUMENT_RESOLVERS = {
    "setGroupInfo": resolve_set_group_info,
    "addInvitedSignaling": resolve_add_invited_signaling,
}


class IMSchema(strawberry.Schema):
    """Strawberry's schema, with the plans and renderer of imql's own execution paths
    (schema.execution): the view and the WebSocket handlers, which hold the schema, reach them here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.shared_results = SharedResults()  # before Strawberry builds anything that executes
        super().__init__(*args, **kwargs)
        self.query_plans = QueryPlans(self)
        self.listener_plans = ListenerPlans(self)
        self.event_renderer = EventRenderer(self)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Client mistakes are answered, not logged; schema.errors logs the unexpected ones."""


def build_schema() -> IMSchema:
    argument_conversion.install()  # a field's arguments converted by a plan made once (schema.execution.arguments)
    schema = _build()
    mutation = schema._schema.mutation_type
    assert mutation is not None
    for name, resolver in INFO_ARGUMENT_RESOLVERS.items():
        field = mutation.fields[name]
        field.args["info"].out_name = INFO_ARGUMENT
        field.resolve = resolver
    return schema


def _build() -> IMSchema:
    return IMSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=ALL_ENUMS,
        config=StrawberryConfig(scalar_map={Long: LONG_SCALAR}, name_converter=RememberingNameConverter()),
        execution_context_class=SharedEventExecutor,
        extensions=[
            IMErrors,
            OperationMetrics,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            SafeParserCache,
            lambda: AddValidationRules([DEPTH_RULE, ALIASES_RULE]),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
        ],
    )
