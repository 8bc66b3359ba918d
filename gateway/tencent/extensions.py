"""Message extensions written through to Tencent (`openim_msg_ext_http_svc`, MAPPING.md #56-58).

A C2C message is named by Tencent's MsgKey (the identity map, gateway.tencent.identity) with the
writer as `From_Account` and the other party as `To_Account`; a group message by its GroupId (and
TopicId) and MsgSeq, which the mirror stores it at. Tencent does not check `Seq` for the app
admin, so the engine checks the versions against the mirror before calling (docs/tencent.md);
each key's answer (its ErrorCode, value and Seq) is what the mirror stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.im.messages import StoredMessage
from gateway.tencent.client import Answer, TencentRestClient, bad_answer
from gateway.tencent.groups import group_and_topic
from gateway.tencent.identity import TencentIds
from gateway.upstream import ExtensionsUpstream, UpstreamExtension

SVC = "openim_msg_ext_http_svc"
SET, DELETE = 1, 2  # OperateType


class TencentExtensions(ExtensionsUpstream):
    def __init__(self, client: TencentRestClient, ids: TencentIds) -> None:
        self._client = client
        self._ids = ids

    async def set_extensions(
        self, message: StoredMessage, by: str, items: Sequence[tuple[str, str]]
    ) -> list[UpstreamExtension]:
        listed = [{"Key": k, "Value": v, "Seq": 0} for k, v in items]
        return await self._write(message, by, SET, listed, [k for k, _ in items])

    async def delete_extensions(self, message: StoredMessage, by: str, keys: Sequence[str]) -> list[UpstreamExtension]:
        listed = [{"Key": k, "Value": "", "Seq": 0} for k in keys]
        return await self._write(message, by, DELETE, listed, list(keys))

    async def _write(
        self, message: StoredMessage, by: str, operate: int, listed: list[dict[str, Any]], keys: list[str]
    ) -> list[UpstreamExtension]:
        body: dict[str, Any]
        if message.groupID:
            endpoint = f"{SVC}/group_set_key_values"
            body = {**group_and_topic(message.groupID), "MsgSeq": message.seq}
        else:
            endpoint = f"{SVC}/set_key_values"
            other = message.receiver if message.sender == by else message.sender
            body = {"From_Account": by, "To_Account": other, "MsgKey": await self._ids.key_of(message)}
        body.update(OperateType=operate, ExtensionList=listed)
        # a write sets a state: sent again after an unknown outcome, it leaves the same values
        answer = await self._client.call(endpoint, body, idempotent=True)
        return _results(endpoint, answer, keys)


def _results(endpoint: str, answer: Answer, keys: list[str]) -> list[UpstreamExtension]:
    """One result per key asked, in order: Tencent's item for it, or (a key its answer left out)
    written with no version known."""
    by_key: dict[str, UpstreamExtension] = {}
    for item in answer.result_items("ExtensionList"):
        extension = item.get("Extension")
        if not isinstance(extension, dict) or not isinstance(extension.get("Key"), str):
            raise bad_answer(endpoint, "an ExtensionList item without its Extension.Key")
        key = extension["Key"]
        by_key[key] = UpstreamExtension(
            key=key,
            value=str(extension.get("Value") or ""),
            version=int(extension.get("Seq") or 0),
            code=int(item.get("ErrorCode") or 0),
        )
    return [by_key.get(k, UpstreamExtension(k)) for k in keys]
