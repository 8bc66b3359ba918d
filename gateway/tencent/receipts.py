"""Read receipts written through to Tencent (MAPPING.md #53).

A C2C receipt goes to `openim/c2c_msg_read_receipt` with each message named by Tencent's MsgKey
(the identity map). A group receipt has no documented REST: the endpoint MAPPING.md names
(`group_open_http_svc/group_msg_receipt`) comes from one SDK source only, FIXTURES.md has no body
for it and imql's own REST server (which stands in for Tencent in the tests) has no such command,
so a gateway user's group receipt is refused (7013) rather than kept in the gateway alone, where
native senders would never see it. Native members' group receipts still reach gateway senders
(Group.CallbackAfterReadReceipt, gateway.tencent.mirror_receipts).
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.errors import Code, IMError
from gateway.im.messages import StoredMessage
from gateway.tencent.client import TencentRestClient
from gateway.tencent.identity import TencentIds
from gateway.upstream import ReceiptsUpstream


class TencentReceipts(ReceiptsUpstream):
    def __init__(self, client: TencentRestClient, ids: TencentIds) -> None:
        self._client = client
        self._ids = ids

    async def send_receipts(self, reader: str, messages: Sequence[StoredMessage]) -> None:
        if any(m.groupID for m in messages):
            raise IMError(
                Code.ERR_SDK_INTERFACE_NOT_SUPPORT,
                "not available on the Tencent backend: Tencent documents no REST API for a member's group read receipt",
            )
        items = []
        for m in messages:
            key = await self._ids.tencent_key(m.sender, m.receiver, m.msgID)
            if key is None:
                raise IMError(
                    Code.ERR_SDK_INTERFACE_NOT_SUPPORT,
                    "not available on the Tencent backend: a message was never sent through Tencent "
                    "(e.g. stored before the gateway used it), so Tencent cannot name it",
                )
            items.append({"From_Account": m.sender, "To_Account": reader, "MsgKey": key})
        body = {"Operator_Account": reader, "Peer_Account": messages[0].sender, "C2CMsgInfo": items}
        # a receipt is a state (read or not): sent again, it is the same receipt
        await self._client.call("openim/c2c_msg_read_receipt", body, idempotent=True)
