"""The server side of the tests' WebSocket connections, seen from inside the process
(gateway.lean.uvicorn_ws): the open connections, and what one writes to its socket."""

from __future__ import annotations

import gc

from gateway.lean.uvicorn_ws import LeanWebSocketProtocol


def open_connections() -> list[LeanWebSocketProtocol]:
    """The server's WebSocket connections that are open now."""
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, LeanWebSocketProtocol) and not o.transport.is_closing()]


def record_writes(protocol: LeanWebSocketProtocol) -> list[bytes]:
    """What `protocol` writes to its socket from now on, write by write (still written)."""
    writes: list[bytes] = []
    write = protocol.transport.write

    def counted(data: bytes | bytearray | memoryview) -> None:
        writes.append(bytes(data))
        write(data)

    protocol.transport.write = counted  # type: ignore[method-assign]
    return writes
