"""A user's conversation list on Tencent (recent contacts): `gateway.upstream.ConversationsUpstream`
over `recentcontact/*` (FIXTURES.md; the same bodies imql's own REST server takes).

Tencent sends no webhook for these: a native device of the same user learns of them at its next
sync, not live (docs/tencent.md). Marks and conversation groups need Tencent's Ultimate edition
(51013 otherwise), which a refusal says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.errors import IMError
from gateway.ids import conversation_group_id, conversation_peer_id
from gateway.tencent.client import Answer, TencentRestClient
from gateway.upstream import ConversationsUpstream

C2C, GROUP = 1, 2  # Tencent's conversation Type
STANDARD_MARKS = 1  # mark_contact OptType
RENAME, MEMBERS = 1, 2  # update_contact_group UpdateGroupType
ADD, REMOVE = 1, 2  # ContactOptType
MARK_BITS = 64


def contact_item(conversation_id: str, group_field: str = "ToGroupId") -> dict[str, Any]:
    """Tencent's `{Type, To_Account | <group field>}` for an imql conversation ID."""
    peer = conversation_peer_id(conversation_id)
    if peer is not None:
        return {"Type": C2C, "To_Account": peer}
    return {"Type": GROUP, group_field: conversation_group_id(conversation_id)}


def mark_bits(mask: int) -> list[int]:
    """A V2TIM markType mask as Tencent's bit numbers (bit n is markType 1 << (n - 1))."""
    return [n for n in range(1, MARK_BITS + 1) if mask & (1 << (n - 1))]


def refuse_failed_items(answer: Answer, name: str) -> None:
    """Tencent answers these per item: the first refused item refuses the call."""
    for item in answer.result_items(name) if answer.get(name) is not None else []:
        code = item.get("ResultCode", 0)
        if isinstance(code, int) and code != 0:
            raise IMError(code, str(item.get("ResultInfo") or f"Tencent refused {item.get('ContactItem')}"))


class TencentConversations(ConversationsUpstream):
    def __init__(self, client: TencentRestClient) -> None:
        self._client = client

    async def delete(self, user_id: str, conversation_ids: Sequence[str], clear_messages: bool) -> None:
        for conv in conversation_ids:  # no batch endpoint: one call per conversation
            body = {"From_Account": user_id, **contact_item(conv, "ToGroupid"), "ClearRamble": int(clear_messages)}
            await self._client.call("recentcontact/delete", body, idempotent=True)

    async def mark(self, user_id: str, conversation_ids: Sequence[str], enable: bool, mark_type: int) -> None:
        bits = mark_bits(mark_type)
        items = [
            {"OptType": STANDARD_MARKS, "ContactItem": contact_item(c), ("SetMark" if enable else "ClearMark"): bits}
            for c in conversation_ids
        ]
        answer = await self._client.call(
            "recentcontact/mark_contact", {"From_Account": user_id, "MarkItem": items}, idempotent=True
        )
        refuse_failed_items(answer, "ResultItem")

    async def create_group(self, user_id: str, name: str, conversation_ids: Sequence[str]) -> None:
        group = {"GroupName": name, "ContactItem": [contact_item(c) for c in conversation_ids]}
        await self._client.call(
            "recentcontact/create_contact_group", {"From_Account": user_id, "GroupContactItem": [group]}
        )

    async def delete_group(self, user_id: str, name: str) -> None:
        await self._client.call(
            "recentcontact/del_contact_group", {"From_Account": user_id, "GroupName": [name]}, idempotent=True
        )

    async def rename_group(self, user_id: str, old: str, new: str) -> None:
        update = {"UpdateGroupType": RENAME, "OldGroupName": old, "NewGroupName": new}
        await self._client.call(
            "recentcontact/update_contact_group", {"From_Account": user_id, "UpdateType": 1, "UpdateGroup": update}
        )

    async def change_group(self, user_id: str, name: str, added: Sequence[str], removed: Sequence[str]) -> None:
        items = [{"ContactOptType": ADD, "ContactItem": contact_item(c)} for c in added]
        items += [{"ContactOptType": REMOVE, "ContactItem": contact_item(c)} for c in removed]
        update = {"UpdateGroupType": MEMBERS, "OldGroupName": name, "ContactUpdateItem": items}
        await self._client.call(
            "recentcontact/update_contact_group",
            {"From_Account": user_id, "UpdateType": 1, "UpdateGroup": update},
            idempotent=True,
        )
