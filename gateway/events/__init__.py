"""The event bus: a durable per-user log on Redis Streams with live fan-out.

See docs/events.md for the guarantees (ordering, resume, retention, slow consumers).
"""
