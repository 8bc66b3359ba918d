"""imql: a GraphQL gateway for Tencent Cloud Chat (IM).

Layers, top to bottom (see docs/architecture.md): `gateway.http` (Starlette app, auth, limits,
metrics) → `schema` (Strawberry types and thin resolvers) → `gateway.session` (per-user sessions)
→ `gateway.backend.IMBackend` (one interface) → `gateway.engine` (embedded, on Redis) →
`gateway.events` (durable per-user event log with live fan-out).
"""

__version__ = "0.1.0"
