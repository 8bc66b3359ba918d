"""V2TIMSignalingManager: call invitations (audio/video apps ring with these)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry.types import Info

from gateway.errors import invalid
from gateway.im import enums as im_enums
from gateway.im import signaling as im_signaling
from schema.context import IMContext
from schema.enums import SignalingActionType
from schema.friendship import need
from schema.identity import Node, global_id
from schema.message_types import OfflinePushInfoInput

Ctx = Info[IMContext, None]

TIMEOUT_DOC = "seconds until onInvitationTimeout if unanswered (0: never)"


@strawberry.type(description="V2TIMSignalingInfo: what a signaling message carries.")
class SignalingInfo(Node):
    id: strawberry.ID = strawberry.field(
        description="Global id (Node): the signaling message it was read from (each step of an invitation, "
        "invite, accept, cancel, ..., is a message of its own)"
    )
    inviteID: str
    groupID: str
    inviter: str
    inviteeList: list[str]
    data: str
    timeout: int
    actionType: SignalingActionType


def signaling_info(msg_id: str, found: im_signaling.SignalingInfo) -> SignalingInfo:
    """The signaling info message `msg_id` carries, as its GraphQL type."""
    return SignalingInfo(
        id=global_id("SignalingInfo", msg_id),
        inviteID=found.inviteID,
        groupID=found.groupID,
        inviter=found.inviter,
        inviteeList=found.inviteeList,
        data=found.data,
        timeout=found.timeout,
        actionType=im_enums.SignalingActionType(found.actionType),
    )


@strawberry.input(description="V2TIMSignalingInfo as addInvitedSignaling takes it: the inviteID is what counts.")
class SignalingInfoInput:
    inviteID: str
    groupID: str | None = None
    inviter: str | None = None
    inviteeList: list[str] | None = None
    data: str | None = None
    timeout: int | None = None
    actionType: SignalingActionType | None = None


@strawberry.type
class SignalingQuery:
    @strawberry.field(description="The signaling info a signaling message carries (6017 for other messages).")
    async def getSignalingInfo(self, info: Ctx, msgID: str) -> SignalingInfo:
        return signaling_info(msgID, await (await info.context.session()).get_signaling_info(msgID))


@strawberry.type
class SignalingMutation:
    @strawberry.mutation(
        description="Invite one user; returns the inviteID. The invitee's devices get onReceiveNewInvitation; "
        f"timeout: {TIMEOUT_DOC}. Unless onlineUserOnly, each step is also a custom message in the conversation."
    )
    async def invite(
        self,
        info: Ctx,
        invitee: str,
        data: str | None = None,
        onlineUserOnly: bool = False,
        timeout: int = 30,  # noqa: ASYNC109 (the SDK names the argument `timeout`)
        offlinePushInfo: OfflinePushInfoInput | None = None,
    ) -> str:
        return await (await info.context.session()).invite(
            invitee,
            data or "",
            timeout,
            onlineUserOnly,
            offlinePushInfo.to_domain() if offlinePushInfo else None,
        )

    @strawberry.mutation(description=f"Invite members of a group; returns the inviteID. timeout: {TIMEOUT_DOC}.")
    async def inviteInGroup(
        self,
        info: Ctx,
        *,
        groupID: str,
        data: str | None = None,
        inviteeList: list[str],
        timeout: int = 30,  # noqa: ASYNC109 (the SDK names the argument `timeout`)
        onlineUserOnly: bool = False,
    ) -> str:
        return await (await info.context.session()).invite_in_group(
            groupID, inviteeList, data or "", timeout, onlineUserOnly
        )

    @strawberry.mutation(description="Cancel your invitation (the inviter only: 8011 otherwise).")
    async def cancel(self, info: Ctx, inviteID: str, data: str | None = None) -> bool:
        await (await info.context.session()).cancel_invitation(inviteID, data or "")
        return True

    @strawberry.mutation(description="Accept an invitation to you (once: 8010 after an answer or its end).")
    async def accept(self, info: Ctx, inviteID: str, data: str | None = None) -> bool:
        await (await info.context.session()).accept_invitation(inviteID, data or "")
        return True

    @strawberry.mutation(
        description="Reject an invitation to you (once). Name it by msgID, the invitation's message as the "
        "params section documents, or by inviteID as the SDK's code example does."
    )
    async def reject(
        self, info: Ctx, msgID: str | None = None, inviteID: str | None = None, data: str | None = None
    ) -> bool:
        session = await info.context.session()
        if msgID and inviteID:
            raise invalid("reject: give msgID or inviteID, not both")
        invite_id = await session.invite_id_of(msgID) if msgID else need(inviteID, "msgID or inviteID")
        await session.reject_invitation(invite_id, data or "")
        return True

    @strawberry.mutation(
        description="Change an open invitation's data (inviter or invitee); the others get onInvitationModified."
    )
    async def modifyInvitation(self, info: Ctx, inviteID: str, data: str | None = None) -> bool:
        await (await info.context.session()).modify_invitation(inviteID, data or "")
        return True

    @strawberry.mutation(
        description="Have an invitation you learned of elsewhere (an offline push) delivered to your devices as "
        "onReceiveNewInvitation; 8012 if already added, 8010 once answered or over."
    )
    async def addInvitedSignaling(
        self, ctx: Ctx, info_: Annotated[SignalingInfoInput, strawberry.argument(name="info")]
    ) -> bool:
        # never called: build.py routes this field to resolve_add_invited_signaling (schema.types.INFO_ARGUMENT)
        return await _add_invited(ctx.context, info_.inviteID)


async def _add_invited(context: IMContext, invite_id: str) -> bool:
    await (await context.session()).add_invited_signaling(invite_id)
    return True


async def resolve_add_invited_signaling(
    _source: object, info: GraphQLResolveInfo[IMContext], info_argument: dict[str, Any] | None = None
) -> bool:
    """addInvitedSignaling as graphql-core calls it (see schema.types.INFO_ARGUMENT)."""
    given = need(info_argument, "info")
    return await _add_invited(info.context, SignalingInfoInput(**given).inviteID)
