"""imql: a GraphQL gateway for Tencent Cloud Chat (IM).

Layers, top to bottom (README "Architecture"; tests/test_layers.py enforces the directions):
`gateway.web` (Starlette app, Strawberry view, limits, probes, metrics) → `schema` (Strawberry
types and thin resolvers) → `gateway.session` (per-user sessions, given `SessionServices`) →
`gateway.backend.IMBackend` (the one interface, its contract written on it and held by
tests/contract) → `gateway.engine` (embedded, on Redis) → `gateway.events` (durable per-user
event log with live fan-out; docs/events.md). `gateway.services` is the composition root.
"""

__version__ = "0.1.0"
