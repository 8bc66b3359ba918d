"""Where uploaded media live. The embedded store keeps files under IMQL_DATA_DIR/media; an
S3-compatible store would implement the same two methods."""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}(\.[a-z0-9]{1,8})?$")


class MediaStore(Protocol):
    async def put(self, data: bytes, suffix: str) -> str:
        """Keep `data`; returns its key (opaque, URL-safe)."""
        ...

    def path(self, key: str) -> Path | None:
        """The stored file of `key`, or None if there is none (or the key is malformed)."""
        ...


def is_media_key(key: str) -> bool:
    return bool(_KEY.match(key))


class FileMediaStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _file(self, key: str) -> Path:
        return self._root / key[:2] / key

    async def put(self, data: bytes, suffix: str) -> str:
        key = secrets.token_urlsafe(24) + (f".{suffix}" if suffix else "")
        target = self._file(key)
        await asyncio.to_thread(_write, target, data)
        return key

    def path(self, key: str) -> Path | None:
        if not is_media_key(key):
            return None
        target = self._file(key)
        return target if target.is_file() else None


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    partial.replace(target)  # readers never see half a file
