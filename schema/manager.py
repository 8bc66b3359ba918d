"""V2TIMManager: SDK set-up, login, profiles and user status."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

import gateway
from gateway.digits import is_digits
from gateway.errors import Code, IMError, invalid
from gateway.im.model import ProfileChanges
from schema.context import IMContext
from schema.enums import AllowType, Gender, LoginStatus, LogLevel
from schema.types import KeyValueInput, LoginResult, Long, UserFullInfo, UserStatus, gql, pairs_to_dict

Ctx = Info[IMContext, None]


@strawberry.type
class ManagerQuery:
    @strawberry.field(description="The gateway's version.")
    def getVersion(self) -> str:
        return f"imql {gateway.__version__}"

    @strawberry.field(description="The server's time, unix seconds.")
    def getServerTime(self, info: Ctx) -> int:
        return int(info.context.gateway.clock.now())

    @strawberry.field(description="The logged-in user's ID.")
    async def getLoginUser(self, info: Ctx) -> str:
        return (await info.context.session()).get_login_user()

    @strawberry.field(description="The login status of this session.")
    async def getLoginStatus(self, info: Ctx) -> LoginStatus:
        return (await info.context.session()).get_login_status()

    @strawberry.field(description="Profiles of the given users that exist, in the order asked (≤100).")
    async def getUsersInfo(self, info: Ctx, userIDList: list[str]) -> list[UserFullInfo]:
        users = await (await info.context.session()).get_users_info(userIDList)
        return gql(users, list[UserFullInfo])

    @strawberry.field(description="Online status and custom status of users (≤100).")
    async def getUserStatus(self, info: Ctx, userIDList: list[str]) -> list[UserStatus]:
        statuses = await (await info.context.session()).get_user_status(userIDList)
        return gql(statuses, list[UserStatus])


@strawberry.type
class ManagerMutation:
    @strawberry.mutation(description="True when this gateway serves the app; error 6013 otherwise.")
    def initSDK(
        self,
        info: Ctx,
        sdkAppID: strawberry.ID,
        logLevel: LogLevel | None = LogLevel.V2TIM_LOG_NONE,
        uuid: str | None = "uuid",
    ) -> bool:
        raw = str(sdkAppID).strip()
        if not is_digits(raw):
            raise invalid("sdkAppID must be a number")
        if int(raw) != info.context.gateway.settings.sdkappid:
            raise IMError(Code.ERR_SDK_NOT_INITIALIZED, f"this gateway does not serve SDKAppID {raw}")
        return True

    @strawberry.mutation(description="Ends the caller's session if a token comes with the request.")
    async def unInitSDK(self, info: Ctx) -> bool:
        if info.context.token() is None:
            return True
        try:
            session = await info.context.session()
        except IMError:
            return True  # nothing to end
        await session.logout()
        return True

    @strawberry.mutation(
        description="Verify a UserSig and open a session; a newer login on the same platform ends the older one."
    )
    async def login(self, info: Ctx, userID: str, userSig: str, platform: str | None = None) -> LoginResult:
        ctx = info.context
        session = await ctx.gateway.sessions.login(userID, userSig, ctx.platform(platform))
        return LoginResult(token=session.token, userID=session.user_id, expireTime=Long(session.expires_at))

    @strawberry.mutation(description="End this session on every replica at once.")
    async def logout(self, info: Ctx) -> bool:
        await (await info.context.session()).logout()
        return True

    @strawberry.mutation(description="Change your profile; omitted fields stay as they are, customInfo merges by key.")
    async def setSelfInfo(
        self,
        info: Ctx,
        nickName: str | None = None,
        faceURL: str | None = None,
        selfSignature: str | None = None,
        gender: Gender | None = None,
        allowType: AllowType | None = None,
        role: int | None = None,
        level: int | None = None,
        birthday: int | None = None,
        customInfo: list[KeyValueInput] | None = None,
    ) -> list[UserFullInfo]:
        changes = ProfileChanges(
            nickName=nickName,
            faceUrl=faceURL,
            selfSignature=selfSignature,
            gender=gender,
            allowType=allowType,
            role=role,
            level=level,
            birthday=birthday,
            customInfo=pairs_to_dict(customInfo, "customInfo"),
        )
        users = await (await info.context.session()).set_self_info(changes)
        return gql(users, list[UserFullInfo])

    @strawberry.mutation(description="Set your custom status (≤100 bytes); null or empty clears it.")
    async def setSelfStatus(self, info: Ctx, status: str | None = None) -> bool:
        await (await info.context.session()).set_self_status(status or "")
        return True

    @strawberry.mutation(description="Receive onUserStatusChanged when these users' status changes (≤200 in all).")
    async def subscribeUserStatus(self, info: Ctx, userIDList: list[str]) -> bool:
        await (await info.context.session()).subscribe_user_status(userIDList)
        return True

    @strawberry.mutation(description="Stop following these users' status; omit userIDList to stop following everyone.")
    async def unsubscribeUserStatus(self, info: Ctx, userIDList: list[str] | None = None) -> bool:
        await (await info.context.session()).unsubscribe_user_status(userIDList)
        return True
