"""Offline push, the part every backend shares: each device's push config and foreground state
(devices.py), written by the session layer. The embedded engine's worker and sinks that turn
queued messages into notifications live in gateway.engine.push."""
