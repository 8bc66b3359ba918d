"""The IM backend interface: one method per SDK API, grouped by manager.

Two implementations sit behind it: the embedded engine (`gateway.engine`, IM semantics on Redis)
and the Tencent Cloud IM REST v4 adapter. Signatures use only domain objects (`gateway.im`) and
plain Python types: no Redis, no Strawberry, no httpx. Failures are `IMError`s; a backend never
lets a library exception escape.

Methods take the acting user first: the backend trusts it (the session layer authenticated it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.im.model import ProfileChanges, UserFullInfo


class AccountManager(Protocol):
    """V2TIMManager's account and profile APIs."""

    async def ensure_account(self, user_id: str) -> None:
        """Create the account on first login (Tencent: account_import); idempotent."""
        ...

    async def get_users_info(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        """Profiles of the users that exist, in the order asked."""
        ...

    async def set_self_info(self, user_id: str, changes: ProfileChanges) -> UserFullInfo:
        """Apply a profile change and tell the user's devices (onSelfInfoUpdated)."""
        ...


class IMBackend(AccountManager, Protocol):
    name: str

    async def ping(self) -> None:
        """Raise IMError when the backend cannot be reached (reported as onConnectFailed)."""
        ...

    async def close(self) -> None: ...
