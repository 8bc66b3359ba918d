"""Every private name the fenced code (gateway.lean, schema.execution) relies on still exists.

A fast static check, one test per library: it fails with a sentence naming the library, its
installed version and the part that needs the missing name, instead of a timeout or an
AttributeError deep in an end-to-end test. The lists mirror the modules' docstrings.
"""

from __future__ import annotations

import importlib
import inspect
import re
from importlib.metadata import version
from typing import Any

import pytest
from graphql import GraphQLObjectType


def _missing(obj: Any, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not hasattr(obj, name)]


def _parameters(func: Any) -> list[str]:
    return list(inspect.signature(func).parameters)


class Contract:
    """Collects what one library lacks, then fails once with every sentence."""

    def __init__(self, distribution: str, label: str | None = None) -> None:
        self.label = f"{label or distribution} {version(distribution)}"
        self.problems: list[str] = []

    def needs(self, part: str, owner: Any, owner_name: str, *names: str) -> None:
        for name in _missing(owner, names):
            self.problems.append(f"{self.label}: {part} needs {owner_name}.{name}")

    def needs_parameters(self, part: str, func: Any, func_name: str, *names: str) -> None:
        try:
            have = _parameters(func)
        except (TypeError, ValueError):  # pragma: no cover - not introspectable
            self.problems.append(f"{self.label}: {part} needs {func_name} to be introspectable")
            return
        for name in names:
            if name not in have:
                self.problems.append(f"{self.label}: {part} needs {func_name} to take {name!r} (it takes {have})")

    def needs_module(self, part: str, module: str, *names: str) -> None:
        try:
            found = importlib.import_module(module)
        except ImportError:
            self.problems.append(f"{self.label}: {part} needs module {module}")
            return
        self.needs(part, found, module, *names)

    def check(self) -> None:
        if self.problems:
            pytest.fail("\n".join(self.problems), pytrace=False)


def test_redis_py() -> None:
    import redis.asyncio as aioredis
    from redis.asyncio.client import Pipeline

    c = Contract("redis", "redis-py")
    part = "gateway.lean.redis"
    c.needs_module(part, "redis.client", "EMPTY_RESPONSE", "NEVER_DECODE")
    c.needs_module(f"{part}.HiredisReplies", "redis._parsers.hiredis", "NOT_ENOUGH_DATA", "_AsyncHiredisParser")
    from redis._parsers.hiredis import _AsyncHiredisParser

    c.needs(f"{part}.HiredisReplies", _AsyncHiredisParser, "_AsyncHiredisParser", "handle_push_response", "on_connect")
    parser_source = inspect.getsource(_AsyncHiredisParser)
    for name in ("self._reader", "self._connected", "self._hiredis_PushNotificationType"):
        if name not in parser_source:
            c.problems.append(f"{c.label}: {part}.HiredisReplies needs _AsyncHiredisParser.{name[5:]}")
    lean_pubsub = "gateway.lean.pubsub.LeanPubSubReader"
    c.needs(lean_pubsub, _AsyncHiredisParser, "_AsyncHiredisParser", "read_from_socket")
    from redis.asyncio.client import PubSub

    c.needs(lean_pubsub, PubSub, "PubSub", "handle_message", "check_health")
    c.needs(
        lean_pubsub, PubSub(aioredis.ConnectionPool(max_connections=1)), "PubSub", "connection", "health_check_response"
    )
    c.needs_parameters(lean_pubsub, PubSub.handle_message, "PubSub.handle_message", "ignore_subscribe_messages")
    connection_source = inspect.getsource(aioredis.Connection.__mro__[1])
    for name in ("self._parser", "self.health_check_interval", "self.next_health_check"):
        if name not in connection_source:
            c.problems.append(f"{c.label}: {part}.HiredisReplies needs AbstractConnection.{name[5:]}")
    pool = aioredis.ConnectionPool(max_connections=1)
    c.needs(
        f"{part}.WaitingConnectionPool",
        pool,
        "ConnectionPool",
        "_available_connections",
        "_in_use_connections",
        "max_connections",
        "connection_class",
        "connection_kwargs",
        "make_connection",
        "get_connection",
        "release",
        "disconnect",
        "from_url",
    )
    c.needs_parameters(
        f"{part}.WaitingConnectionPool.disconnect",
        aioredis.ConnectionPool.disconnect,
        "ConnectionPool.disconnect",
        "inuse_connections",
    )
    connection = aioredis.Connection
    c.needs(f"{part}.WaitingConnectionPool", connection, "Connection", "is_connected", "connect", "disconnect")
    c.needs(f"{part}.WaitingConnectionPool._take", connection, "Connection", "can_read")
    c.needs(f"{part}.WaitingConnectionPool.release", connection, "Connection", "should_reconnect")
    if hasattr(connection, "disconnect"):
        c.needs_parameters(f"{part}.LeanPipeline", connection.disconnect, "Connection.disconnect", "nowait")
    c.needs(f"{part}.LeanPipeline", connection, "Connection", "send_packed_command", "read_response", "pack_commands")
    c.needs(f"{part}.HiredisPacking", connection, "Connection", "pack_command", "pack_commands")
    if hasattr(connection, "send_packed_command"):
        c.needs_parameters(
            f"{part}._RoundTripCounter",
            connection.send_packed_command,
            "Connection.send_packed_command",
            "command",
            "check_health",
        )
    c.needs_parameters(
        f"{part}.LeanRedis.pipeline",
        Pipeline.__init__,
        "Pipeline.__init__",
        "connection_pool",
        "response_callbacks",
        "transaction",
        "shard_hint",
    )
    pipe = aioredis.Redis().pipeline(transaction=False)
    c.needs(
        f"{part}.LeanPipeline",
        pipe,
        "Pipeline",
        "command_stack",
        "is_transaction",
        "explicit_transaction",
        "watching",
        "scripts",
        "connection",
        "connection_pool",
        "response_callbacks",
        "parse_response",
        "raise_first_error",
    )
    for method, names in (
        ("parse_response", ("connection", "command_name")),
        ("raise_first_error", ("commands", "response")),
        ("execute", ("raise_on_error",)),
    ):
        if hasattr(Pipeline, method):
            c.needs_parameters(f"{part}.LeanPipeline", getattr(Pipeline, method), f"Pipeline.{method}", *names)
    c.check()


def test_uvicorn() -> None:
    c = Contract("uvicorn")
    part = "gateway.lean.uvicorn_ws.LeanWebSocketProtocol"
    module = "uvicorn.protocols.websockets.websockets_sansio_impl"
    try:
        found = importlib.import_module(module)
    except ImportError:
        c.problems.append(f"{c.label}: {part} needs module {module}")
        c.check()
        return
    c.needs(part, found, module, "WebSocketsSansIOProtocol")
    base = getattr(found, "WebSocketsSansIOProtocol", None)
    if base is not None:
        c.needs(
            part,
            base,
            "WebSocketsSansIOProtocol",
            "schedule_ping",
            "start_keepalive",
            "stop_keepalive",
            "send_keepalive_ping",
            "receive",
            "handle_connect",
            "connection_lost",
        )
        c.needs_parameters(part, base.__init__, "WebSocketsSansIOProtocol.__init__", "config", "server_state")
        # instance attributes: assigned in the constructor, so looked for in its source
        source = inspect.getsource(base)
        if '"headers": headers' not in source:
            c.problems.append(f"{c.label}: {part} needs handle_connect to put the headers in self.scope")
        for name in (
            "queue",
            "writable",
            "read_paused",
            "transport",
            "loop",
            "request",
            "response",
            "conn",
            "ping_interval",
            "last_ping_rtt",
            # SEND_MANY and SEND_NOW (send_now) check these before writing themselves
            "handshake_complete",
            "close_sent",
            "initial_response",
            "disconnected",
        ):
            if f"self.{name}" not in source:
                c.problems.append(f"{c.label}: {part} needs WebSocketsSansIOProtocol.{name}")
        # open_parsed and _answer_upgrade do what handle_connect and send's websocket.accept do
        for name in (
            "handshake_initiated",
            "asgi_version",
            "scheme",
            "server",
            "client",
            "root_path",
            "app_state",
            "tasks",
            "default_headers",
            "logger",
        ):
            if f"self.{name}" not in source:
                c.problems.append(f"{c.label}: {part}.open_parsed needs WebSocketsSansIOProtocol.{name}")
        c.needs(f"{part}.open_parsed", base, "WebSocketsSansIOProtocol", "run_asgi", "on_task_complete")
        # every attribute it assigns is a slot of ours (a new one would still work, from a dict of
        # its own per connection: add it to UVICORN_ATTRIBUTES)
        from gateway.lean.uvicorn_ws import UVICORN_ATTRIBUTES

        for name in sorted(set(re.findall(r"self\.(\w+)(?:: [^=\n]+)? = ", source)) - set(UVICORN_ATTRIBUTES)):
            c.problems.append(f"{c.label}: {part} has no slot for WebSocketsSansIOProtocol.{name} (UVICORN_ATTRIBUTES)")
    c.check()


def test_uvicorn_http() -> None:
    c = Contract("uvicorn")
    part = "gateway.lean.uvicorn_http.HeadWithBodyHttpToolsProtocol"
    module = "uvicorn.protocols.http.httptools_impl"
    try:
        found = importlib.import_module(module)
    except ImportError:
        c.problems.append(f"{c.label}: {part} needs module {module}")
        c.check()
        return
    c.needs(part, found, module, "HttpToolsProtocol", "RequestResponseCycle")
    protocol = getattr(found, "HttpToolsProtocol", None)
    if protocol is not None:
        c.needs(part, protocol, "HttpToolsProtocol", "_start_asgi_task")
        if hasattr(protocol, "_start_asgi_task"):
            c.needs_parameters(part, protocol._start_asgi_task, "HttpToolsProtocol._start_asgi_task", "cycle", "app")
        if "self.loop" not in inspect.getsource(protocol):
            c.problems.append(f"{c.label}: {part} needs HttpToolsProtocol.loop")
        # gateway.lean.uvicorn_ws.upgrade_parsed, in place of handle_websocket_upgrade
        c.needs(part, protocol, "HttpToolsProtocol", "handle_websocket_upgrade")
        source = inspect.getsource(protocol)
        for name in ("ws_protocol_class", "scope", "url", "config", "server_state", "app_state", "connections"):
            if f"self.{name}" not in source:
                c.problems.append(f"{c.label}: gateway.lean.uvicorn_ws.upgrade_parsed needs HttpToolsProtocol.{name}")
        if "name = name.lower()" not in source or 'value.rstrip(b" \\t")' not in source:
            c.problems.append(
                f"{c.label}: gateway.lean.uvicorn_ws.plain_handshake needs the scope's header names "
                "lowercased and values stripped"
            )
    cycle = getattr(found, "RequestResponseCycle", None)
    if cycle is not None:
        c.needs(part, cycle, "RequestResponseCycle", "send", "run_asgi")
        source = inspect.getsource(cycle)
        if "self.transport = transport" not in source:
            c.problems.append(f"{c.label}: {part} needs RequestResponseCycle.transport")
        if "self.scope, self.receive, self.send" not in source:
            c.problems.append(f"{c.label}: {part} needs run_asgi to hand the application self.send")
    c.check()


def test_websockets() -> None:
    from websockets.protocol import Protocol, State

    c = Contract("websockets")
    part = "gateway.lean.uvicorn_ws.LeanWebSocketProtocol._parse_frames_afresh"
    c.needs(part, Protocol, "Protocol", "parse")
    if hasattr(Protocol, "parse") and not inspect.isgeneratorfunction(Protocol.parse):
        c.problems.append(f"{c.label}: {part} needs Protocol.parse to be a generator function")
    c.needs(part, State, "State", "OPEN")
    c.needs("gateway.lean.uvicorn_ws.LeanWebSocketProtocol.send_now", Protocol, "Protocol", "send_text", "data_to_send")
    source = inspect.getsource(Protocol)
    # write_now frames a connection's text frames itself only when websockets would add nothing:
    # it reads these to tell (an extension, a fragmented message, frame logging, queued bytes)
    for name in ("extensions", "expect_continuation_frame", "debug", "writes"):
        if f"self.{name}" not in source:
            c.problems.append(
                f"{c.label}: gateway.lean.uvicorn_ws.LeanWebSocketProtocol.write_now needs Protocol.{name}"
            )
    for name in ("state", "reader", "parser", "parser_exc"):
        if f"self.{name}" not in source:
            c.problems.append(f"{c.label}: {part} needs Protocol.{name}")
    from websockets.streams import StreamReader

    if "self.buffer" not in inspect.getsource(StreamReader):
        c.problems.append(f"{c.label}: {part} needs StreamReader.buffer")
    # _forget_last_frame: a parser waiting for a frame is suspended in the reader's at_eof
    if not inspect.isgeneratorfunction(getattr(StreamReader, "at_eof", None)):
        c.problems.append(f"{c.label}: {part} needs StreamReader.at_eof to be a generator function")
    if hasattr(Protocol, "parse") and "yield from self.reader.at_eof()" not in inspect.getsource(Protocol.parse):
        c.problems.append(f"{c.label}: {part} needs Protocol.parse to wait in `yield from self.reader.at_eof()`")
    # plain_handshake and open_parsed: websockets' header grammar and limits, and what its server
    # connection reads and sets around accept()
    from websockets import http11
    from websockets.server import ServerProtocol

    from gateway.lean import uvicorn_ws

    part = "gateway.lean.uvicorn_ws.plain_handshake"
    c.needs(part, http11, "websockets.http11", "MAX_NUM_HEADERS", "MAX_LINE_LENGTH", "_token_re", "_value_re")
    for theirs, ours in (("_token_re", uvicorn_ws._TOKEN), ("_value_re", uvicorn_ws._HEADER_VALUE)):
        pattern = getattr(getattr(http11, theirs, None), "pattern", None)
        if pattern is not None and pattern != ours.pattern:
            c.problems.append(f"{c.label}: {part} copies websockets.http11.{theirs}, now {pattern!r}")
    # _answer_upgrade: the check websockets' Headers makes of a value the application adds
    from websockets import datastructures

    checks = getattr(getattr(datastructures, "is_valid_header_value", None), "__self__", None)
    if getattr(checks, "pattern", None) != uvicorn_ws._HEADER_TEXT.pattern:
        c.problems.append(
            f"{c.label}: gateway.lean.uvicorn_ws._answer_upgrade copies "
            "websockets.datastructures.is_valid_header_value, now changed"
        )
    server_source = inspect.getsource(ServerProtocol)
    for name in ("origins", "available_subprotocols", "available_extensions", "accept_called", "origin"):
        if f"self.{name}" not in server_source:
            c.problems.append(f"{c.label}: gateway.lean.uvicorn_ws.open_parsed needs ServerProtocol.{name}")
    c.check()


def test_starlette() -> None:
    from starlette.websockets import WebSocket, WebSocketState

    c = Contract("starlette")
    part = "gateway.lean.starlette_ws.asgi_receive"

    async def receive() -> Any:  # pragma: no cover - never awaited
        return {}

    async def send(message: Any) -> None:  # pragma: no cover - never awaited
        return None

    ws = WebSocket({"type": "websocket", "path": "/", "headers": []}, receive, send)
    if getattr(ws, "_receive", None) is not receive:
        c.problems.append(f"{c.label}: {part} needs WebSocket._receive (the ASGI receive it was built with)")
    c.needs("gateway.web.view.ObjectMessagesOnly.iter_json", ws, "WebSocket", "client_state", "application_state")
    c.needs("gateway.web.view.ObjectMessagesOnly.iter_json", WebSocketState, "WebSocketState", "CONNECTED")
    c.check()


def test_strawberry() -> None:
    from schema.build import build_schema

    c = Contract("strawberry-graphql", "strawberry")
    schema = build_schema()
    c.needs("schema.execution (http, listeners) and schema.build", schema, "Schema", "_schema")
    c.needs("schema.execution.http", schema, "Schema", "execution_context_class", "extensions")
    if hasattr(schema, "_schema"):
        c.needs("schema.execution.executor.shared_results_of", schema._schema, "Schema._schema", "_strawberry_schema")
    c.needs_module("schema.execution.http", "strawberry.schema.schema", "validate_document")
    part = "schema.execution.arguments"
    c.needs_module(part, "strawberry.schema.schema_converter", "convert_arguments", "get_arguments")
    c.needs_module(
        part,
        "strawberry.types.arguments",
        "convert_arguments",
        "convert_argument",
        "_is_leaf_type",
        "_is_optional_leaf_type",
    )
    c.needs_module(part, "strawberry.types.base", "StrawberryList", "StrawberryMaybe", "StrawberryOptional")
    c.needs_module(part, "strawberry.types.enum", "has_enum_definition")
    c.needs_module(part, "strawberry.relay.types", "GlobalID")
    from strawberry.schema import schema_converter

    if "convert_arguments(" not in inspect.getsource(schema_converter.get_arguments):
        c.problems.append(f"{c.label}: {part} needs get_arguments to call the module's convert_arguments")
    from strawberry.types import arguments

    convert_source = inspect.getsource(arguments.convert_argument)
    for check in ("StrawberryMaybe", "StrawberryOptional", "_is_leaf_type", "has_enum_definition", "GlobalID"):
        if check not in convert_source:
            c.problems.append(f"{c.label}: {part} mirrors convert_argument's checks, and it no longer uses {check}")
    from strawberry.asgi import GraphQL

    # gateway.web.view.GraphQLView overrides these to answer malformed requests 400 (not 500)
    c.needs(
        "gateway.web.view.GraphQLView",
        GraphQL,
        "GraphQL",
        "parse_http_body",
        "decode_json",
        "encode_json",
        "execute_single",
    )
    # gateway.lean.strawberry_ws.open_websocket: run()'s WebSocket branch, step for step
    part = "gateway.lean.strawberry_ws.open_websocket"
    c.needs(
        part,
        GraphQL,
        "GraphQL",
        "_check_websocket_origin",
        "reject_websocket",
        "get_root_value",
        "pick_websocket_subprotocol",
        "create_websocket_response",
        "get_context",
        "websocket_adapter_class",
        "graphql_transport_ws_handler_class",
        "graphql_ws_handler_class",
    )
    from strawberry.http.async_base_view import AsyncBaseHTTPView

    run = inspect.getsource(AsyncBaseHTTPView.run)
    for step in (
        "self._check_websocket_origin(",
        "await self.get_root_value(request)",
        "await self.pick_websocket_subprotocol(request)",
        "await self.create_websocket_response(",
        "self.websocket_adapter_class(self, request, websocket_response)",
        "await self.get_context(request, response=websocket_response)",
        ").handle()",
        'await websocket.close(4406, "Subprotocol not acceptable")',
    ):
        if step not in run:
            c.problems.append(f"{c.label}: {part} mirrors AsyncBaseHTTPView.run, which no longer has {step!r}")
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
    from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

    common = ("view", "websocket", "context", "root_value", "schema", "max_subscriptions_per_connection")
    c.needs_parameters(
        part,
        BaseGraphQLTransportWSHandler.__init__,
        "BaseGraphQLTransportWSHandler.__init__",
        *common,
        "connection_init_wait_timeout",
    )
    c.needs_parameters(
        part,
        BaseGraphQLWSHandler.__init__,
        "BaseGraphQLWSHandler.__init__",
        *common,
        "keep_alive",
        "keep_alive_interval",
    )

    # gateway.web.ws_protocols.LegacyWSHandler ignores messages without a string type before it
    c.needs("gateway.web.ws_protocols.LegacyWSHandler", BaseGraphQLWSHandler, "BaseGraphQLWSHandler", "handle_message")
    # ... checks a start's and a stop's shape before them, and replaces the operation's task with a
    # copy that closes its result stream however it ends: the copy keeps Strawberry's bookkeeping
    legacy = "gateway.web.ws_protocols.LegacyWSHandler"
    c.needs(legacy, BaseGraphQLWSHandler, "BaseGraphQLWSHandler", "handle_start", "handle_stop")
    c.needs_parameters(
        legacy,
        BaseGraphQLWSHandler.handle_async_results,
        "BaseGraphQLWSHandler.handle_async_results",
        "operation_id",
        "query",
        "operation_name",
        "variables",
    )
    task = inspect.getsource(BaseGraphQLWSHandler.handle_async_results)
    for step in (
        "await self.schema.subscribe(",
        "self.subscriptions[operation_id] = result_source",
        "isinstance(result, PreExecutionError)",
        "await self.send_data_message(result, operation_id)",
        "self.subscriptions.pop(operation_id, None)",
        "self.tasks.pop(operation_id, None)",
    ):
        if step not in task:
            c.problems.append(f"{c.label}: {legacy} mirrors handle_async_results, which no longer has {step!r}")
    if "self.handle_async_results(" not in inspect.getsource(BaseGraphQLWSHandler.handle_start):
        c.problems.append(f"{c.label}: {legacy} expects handle_start to run each operation in handle_async_results")
    c.needs_module(
        "schema.execution.executor.SharedEventExecutor",
        "strawberry.schema.schema",
        "StrawberryGraphQLCoreExecutionContext",
    )
    c.needs_module("schema.execution (http, listeners)", "strawberry.execution.is_awaitable", "optimized_is_awaitable")
    validate = getattr(importlib.import_module("strawberry.schema.schema"), "validate_document", None)
    if validate is not None:
        c.needs_parameters(
            "schema.execution.http", validate, "validate_document", "schema", "document", "validation_rules"
        )
    # a field without a resolver (UserFullInfo.userID): the converter's attribute read, and the
    # Strawberry field behind it (schema.execution.completion compiles such fields)
    if hasattr(schema, "_schema"):
        user = schema._schema.type_map["UserFullInfo"]
        assert isinstance(user, GraphQLObjectType)
        field = user.fields["userID"]
        part = "schema.execution.completion"
        if getattr(field.resolve, "__name__", None) != "_get_basic_result":
            c.problems.append(f"{c.label}: {part} needs an attribute field's resolver to be _get_basic_result")
        if getattr(field.resolve, "_is_default", None) is not True:
            c.problems.append(f"{c.label}: {part} needs _get_basic_result._is_default")
        definition = (field.extensions or {}).get("strawberry-definition")
        if definition is None:
            c.problems.append(f"{c.label}: {part} needs GraphQLField.extensions['strawberry-definition']")
        else:
            c.needs(part, definition, "StrawberryField", "default_resolver", "python_name", "is_basic_field")
    c.check()


def test_graphql_core() -> None:
    # the executor class graphql-core gives Strawberry's execution context (IncrementalExecutor
    # over Executor in 3.3): checked through the base imql extends
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext as ExecutionContext

    c = Contract("graphql-core")
    part = "schema.execution.executor.SharedEventExecutor"
    c.needs(
        part,
        ExecutionContext,
        "ExecutionContext",
        "build",
        "build_per_event_executor",
        "execute_operation",
        "execute_collected_root_fields",
    )
    if hasattr(ExecutionContext, "execute_collected_root_fields"):
        c.needs_parameters(
            part,
            ExecutionContext.execute_collected_root_fields,
            "ExecutionContext.execute_collected_root_fields",
            "root_type",
            "root_value",
            "grouped_field_set",
            "serially",
            "new_defer_usages",
        )
    if hasattr(ExecutionContext, "build"):
        c.needs_parameters(
            "schema.execution.listeners.EventRenderer",
            ExecutionContext.build,
            "ExecutionContext.build",
            "schema",
            "document",
            "raw_variable_values",
            "operation_name",
            "is_awaitable",
        )
    root_field = "schema.execution.executor.SharedEventExecutor._root_field_result"
    c.needs(root_field, ExecutionContext, "ExecutionContext", "execute_field", "build_response", "is_awaitable")
    if hasattr(ExecutionContext, "execute_field"):
        c.needs_parameters(
            root_field,
            ExecutionContext.execute_field,
            "ExecutionContext.execute_field",
            "parent_type",
            "source",
            "field_details_list",
            "path",
            "position_context",
        )
    source = "".join(
        inspect.getsource(base) for base in ExecutionContext.__mro__ if base.__module__.startswith("graphql.")
    )
    if "self.collected_errors.add(error, None)" not in source:
        c.problems.append(f"{c.label}: {root_field} mirrors execute_operation's collected_errors.add(error, None)")
    for name in ("async_helpers", "root_value", "context_value", "operation", "variable_values"):
        if f"self.{name}" not in source:
            c.problems.append(f"{c.label}: {part} needs ExecutionContext.{name}")
    c.needs_module(part, "graphql.execution.collect_fields", "DeferUsage", "GroupedFieldSet")
    c.needs_module(part, "graphql.execution.values", "VariableValues")
    values = importlib.import_module("graphql.execution.values")
    variable_values = getattr(values, "VariableValues", None)
    if variable_values is not None and not hasattr(variable_values, "coerced"):
        c.problems.append(f"{c.label}: {part} needs VariableValues.coerced")
    c.needs_module(
        "schema.execution.listeners.ListenerPlans",
        "graphql.execution.values",
        "get_argument_values",
        "get_variable_values",
    )
    completion = "schema.execution.completion (SharedEventExecutor.complete_value)"
    c.needs(completion, ExecutionContext, "ExecutionContext", "complete_value", "build_resolve_info", "is_awaitable")
    for method, names in (
        ("complete_value", ("return_type", "field_details_list", "info", "path", "result", "position_context")),
        ("build_resolve_info", ("field_def", "field_nodes", "parent_type", "path")),
    ):
        if hasattr(ExecutionContext, method):
            c.needs_parameters(completion, getattr(ExecutionContext, method), f"ExecutionContext.{method}", *names)
    if "self.middleware_manager" not in source:
        c.problems.append(f"{c.label}: {completion} needs ExecutionContext.middleware_manager")
    from graphql.execution.middleware import MiddlewareManager

    c.needs(completion, MiddlewareManager(), "MiddlewareManager", "middlewares")
    c.needs_module(completion, "graphql.execution.collect_fields", "FieldDetails", "FieldDetailsList")
    collect_fields = importlib.import_module("graphql.execution.collect_fields")
    details = getattr(collect_fields, "FieldDetails", None)
    if details is not None and not {"node", "defer_usage", "fragment_variable_values"} <= set(details._fields):
        c.problems.append(f"{c.label}: {completion} needs FieldDetails.node, defer_usage, fragment_variable_values")
    c.needs_module(completion, "graphql.type.scalars", "serialize_string", "serialize_id")
    from graphql import GraphQLArgument, GraphQLField, GraphQLString
    from graphql.pyutils import Path

    c.needs(completion, Path(None, "key", None), "Path", "add_key")
    c.needs("schema.build.build_schema", GraphQLArgument(GraphQLString), "GraphQLArgument", "out_name")
    c.needs("schema.build.build_schema", GraphQLField(GraphQLString), "GraphQLField", "resolve", "args")
    c.check()


def test_redis_py_cluster() -> None:
    from redis.asyncio.client import Pipeline, PubSub
    from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster

    c = Contract("redis", "redis-py")
    part = "gateway.lean.cluster"
    c.needs(
        f"{part}.ImqlCluster",
        RedisCluster,
        "RedisCluster",
        "_determine_slot",
        "get_connection_kwargs",
        "get_node_from_key",
        "get_node",
        "keyslot",
        "initialize",
        "get_encoder",
        "execute_command",
        "from_url",
    )
    c.needs_parameters(f"{part}.ImqlCluster", RedisCluster.__init__, "RedisCluster.__init__", "max_connections")
    cluster = RedisCluster(host="127.0.0.1", port=1)  # not connected: the attributes only
    c.needs(f"{part}.ImqlCluster", cluster, "RedisCluster", "_initialize", "nodes_manager")
    c.needs(f"{part}.ordered_pipeline", cluster.nodes_manager, "NodesManager", "initialize", "get_node_from_slot")
    kwargs = cluster.get_connection_kwargs()
    for key in ("connection_class", "response_callbacks"):
        if key not in kwargs:
            c.problems.append(f"{c.label}: {part}.ImqlCluster needs get_connection_kwargs()[{key!r}]")
    node = ClusterNode("127.0.0.1", 1)
    c.needs(f"{part}._SlotConnections", node, "ClusterNode", "acquire_connection", "release", "name", "host", "port")
    c.needs_parameters(
        f"{part}.ImqlClusterPipeline", ClusterPipeline.__init__, "ClusterPipeline.__init__", "client", "transaction"
    )
    c.needs_parameters(
        f"{part}.ImqlClusterPipeline",
        ClusterPipeline.execute,
        "ClusterPipeline.execute",
        "raise_on_error",
        "allow_redirections",
    )
    c.needs(f"{part}.ImqlClusterPipeline", ClusterPipeline, "ClusterPipeline", "execute_command", "cluster_client")
    c.needs(f"{part}.ClusterTransaction", Pipeline, "Pipeline", "immediate_execute_command", "execute", "reset")
    c.needs(f"{part}.ShardedPubSub", PubSub, "PubSub", "ssubscribe", "sunsubscribe", "get_message", "aclose")
    c.check()


def test_asyncio() -> None:
    """gateway.lean.eager: on Python 3.11 the first step runs with a prepared Python Task as the loop's
    current task (asyncio.tasks' _enter_task / _leave_task), scheduled later as Task.__init__ does;
    on 3.12 and later, asyncio's own eager start."""
    import asyncio
    import sys
    from asyncio import futures, tasks

    label = f"Python {sys.version.split()[0]} asyncio"
    if sys.version_info >= (3, 12):
        have = _parameters(asyncio.Task)
        assert "eager_start" in have, f"{label}: gateway.lean.eager needs Task(eager_start=...) (it takes {have})"
        return
    missing = _missing(tasks, ("_enter_task", "_leave_task", "_register_task", "_task_name_counter", "_PyTask"))
    missing += _missing(futures, ("_PyFuture",))
    assert not missing, f"{label}: gateway.lean.eager needs asyncio's {', '.join(missing)}"
    py_task: Any = getattr(tasks, "_PyTask")  # noqa: B009 - not in typeshed
    missing = _missing(py_task, ("_Task__step", "_Task__wakeup", "_log_destroy_pending", "_cancel_message"))
    assert not missing, f"{label}: gateway.lean.eager needs asyncio.tasks._PyTask.{', '.join(missing)}"
    init = inspect.getsource(py_task.__init__)
    for assigned in ("_name", "_num_cancels_requested", "_must_cancel", "_fut_waiter", "_coro", "_context"):
        assert f"self.{assigned} =" in init, (
            f"{label}: gateway.lean.eager prepares Task.{assigned}, which Task.__init__ no longer sets"
        )
