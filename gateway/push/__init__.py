"""Offline push, the gateway part: devices' push configs and foreground state, the worker that
turns queued messages into notifications, and the sinks that send them out."""
