"""The gateway's code that relies on private names of its libraries, fenced: one module per library.

- gateway.lean.redis: redis-py's asyncio pool, connection and pipeline (gateway.store builds on it);
- gateway.lean.uvicorn_ws: uvicorn's sans-I/O WebSocket protocol and websockets' parser
  (`imql serve` runs it, gateway.cli.WS_IMPLEMENTATION);
- gateway.lean.uvicorn_http: uvicorn's httptools HTTP protocol, a response's head and body in one
  write (`imql serve` runs it, gateway.cli.HTTP_IMPLEMENTATION);
- gateway.lean.starlette_ws: Starlette's WebSocket ASGI receive channel (gateway.web.view);
- gateway.lean.strawberry_ws: Strawberry's WebSocket opening (AsyncBaseHTTPView.run's steps,
  gateway.web.app);
- gateway.lean.eager: asyncio's way of driving a coroutine from a Task, to start one in the
  caller's turn (Python 3.12's eager tasks, on 3.11; gateway.web.ws_protocols).

Each module's docstring lists every private name it uses and what to check on upgrade. Upgrading
any of these libraries:
1. bump the version (pyproject.toml's range and the lock file);
2. run tests/test_upstream_contract.py: a fast static check that names the library, its installed
   version and the part that needs a missing name; then the module's behavioural tests
   (tests/test_redis_pool.py, tests/test_ws_server.py, tests/test_transport*.py,
   tests/test_http_writes.py);
3. read the upstream diff of the functions each docstring names, for changed behaviour;
4. re-lock.
"""
