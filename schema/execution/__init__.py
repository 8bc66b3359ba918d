"""GraphQL execution beside Strawberry's own: the schema layer's code that relies on private names
of Strawberry and graphql-core, fenced in one package.

- schema.execution.http: queries and mutations over HTTP without Strawberry's view (QueryPlans);
- schema.execution.listeners: listener subscriptions without a task per subscription
  (ListenerPlans, EventRenderer);
- schema.execution.executor: the execution context class (SharedEventExecutor) both paths and
  Strawberry's own run, sharing one execution per group event;
- schema.execution.completion: value completion compiled per (type, field node) for selections
  that only read attributes (SharedEventExecutor.complete_value runs it);
- schema.execution.arguments: Strawberry's conversion of a field's arguments, planned once per
  field (installed by schema.build).
schema.build also patches the built schema (`build_schema`, the SDK's `info` argument): listed below.

Every private (or undocumented) name used, checked by tests/test_upstream_contract.py
(test_strawberry, test_graphql_core):
- strawberry: `Schema._schema` (the graphql-core GraphQLSchema; http, listeners, schema.build),
  `GraphQLSchema._strawberry_schema` (Strawberry's link back; executor.shared_results_of),
  `Schema.execution_context_class`, `Schema.extensions` (the list QueryPlans mirrors),
  `strawberry.schema.schema.validate_document(schema, document, validation_rules)`,
  `strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext` (the executor's base),
  `strawberry.execution.is_awaitable.optimized_is_awaitable`;
  for arguments: `strawberry.schema.schema_converter.convert_arguments` (the global `get_arguments`
  calls: replaced), `strawberry.types.arguments.convert_arguments`, `convert_argument`,
  `_is_leaf_type`, `_is_optional_leaf_type` (whose checks `conversion_of` mirrors, in its order);
  the converter's resolver of a field without one, named `_get_basic_result` and marked
  `_is_default`, and its field behind `GraphQLField.extensions["strawberry-definition"]`
  (`default_resolver`, `python_name`, `is_basic_field`) (completion);
- graphql-core 3.3 (incremental-delivery internals; the executor class, IncrementalExecutor over
  Executor in 3.3.2, reached as StrawberryGraphQLCoreExecutionContext's base, "ExecutionContext"
  below): `ExecutionContext.build(schema, document,
  root_value, context_value, raw_variable_values, operation_name, ..., is_awaitable)`,
  `ExecutionContext.build_per_event_executor(payload)`, `ExecutionContext.execute_operation(serially)`,
  for one root field (executor.RootField): `ExecutionContext.execute_field(parent_type, source,
  field_details_list, path, position_context)`, `collected_errors.add(error, path)`,
  `build_response(data)`, `is_awaitable`, what execute_operation does around its fields (mirrored),
  `ExecutionContext.execute_collected_root_fields(root_type, root_value, grouped_field_set,
  serially, new_defer_usages)` (overridden), the instance attributes `async_helpers` (popped),
  `root_value`, `context_value`, `operation`, `variable_values.coerced`;
  `graphql.execution.collect_fields.DeferUsage` and `GroupedFieldSet`;
  for completion: `ExecutionContext.complete_value(return_type, field_details_list, info, path,
  result, position_context)` (overridden), `build_resolve_info(field_def, field_nodes,
  parent_type, path)`, `is_awaitable`, `middleware_manager` (`MiddlewareManager.middlewares`),
  `FieldDetails(node, defer_usage, fragment_variable_values)`, `FieldDetailsList`,
  `graphql.type.scalars.serialize_string` and `serialize_id`, `Path.add_key`;
  `graphql.execution.values.get_argument_values(def, node, variables)` and
  `get_variable_values(schema, definitions, inputs)`;
- in schema.build: `GraphQLSchema.mutation_type.fields[name].args["info"].out_name` and
  `GraphQLField.resolve` (the SDK's `info` argument, see schema.types).
The `_root_fields` and `async_helpers` fixes in executor work around graphql-core leaks: an
upstream fix would leave them dead code, silently (tests/test_garbage.py measures them).

On upgrade of Strawberry or graphql-core:
1. bump the version (pyproject.toml's range and the lock file);
2. run tests/test_upstream_contract.py (a fast static check naming library, version and part),
   then tests/test_execution_parity.py, tests/test_completion.py, tests/test_listener_path.py,
   tests/test_garbage.py;
3. read the upstream diff of graphql-core's execution/execute.py (and executor.py's completion
   of values) and Strawberry's schema.py, schema_converter.py and extension list for changed
   behaviour the fast paths mirror (IMErrors, OperationMetrics, MaxTokensLimiter, the validation
   rules, the completion of values);
4. re-lock.
"""
