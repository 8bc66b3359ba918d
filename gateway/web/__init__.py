"""The HTTP and WebSocket surface: Starlette app, GraphQL view, health and metrics endpoints."""
