"""A keep-alive HTTP/1.1 connection for sending GraphQL POSTs at a fixed rate from the benchmark
process: asyncio streams and pre-built headers, a fraction of a general client's cost per request."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int) -> None:
        self.reader, self.writer = reader, writer
        self.host, self.port = host, port

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, host, port)

    async def post_json(self, path: str, payload: dict[str, Any], token: str) -> tuple[int, Any]:
        body = json.dumps(payload).encode()
        self.writer.write(
            (
                f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, json.loads(await self.reader.readexactly(length))

    def close(self) -> None:
        self.writer.close()
