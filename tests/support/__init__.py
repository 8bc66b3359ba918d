"""Test helpers: real servers, real HTTP and WebSocket clients."""
