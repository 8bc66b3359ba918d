"""Push to all: `all_member_push/im_push` (gateway.engine.all_member_push runs the tasks).

`{From_Account?, MsgRandom, MsgBody, MsgLifeTime?, OfflinePushInfo?, Condition?}` → `{TaskId}`.
Every account of the app gets an online-only C2C message from From_Account (the app admin without
it): users online hear onRecvNewMessage, nothing is stored (Tencent's push does not roam), and with
MsgLifeTime > 0 the others get an offline push notification. Tencent's limits hold with its codes:
100 pushes a day (90047), more than 1 s apart (90024), a 10 KB body (90056), MsgLifeTime up to 7
days (90026); the same MsgRandom within 7 days is the same task (its TaskId again, nothing sent).

`Condition` (TagsAnd, TagsOr, AttrsAnd, AttrsOr) is refused (90045): imql keeps no push tags or
user attributes (Tencent's `im_add_tag` / `im_set_attr` are not served), so a push goes to all.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.engine.all_member_push import PushSpec
from gateway.engine.rest.context import RestContext
from gateway.engine.rest.messages import admin_account, require_accounts
from gateway.engine.rest.registry import Commands
from gateway.errors import IMError
from gateway.v4.fields import Body
from gateway.v4.msgbody import content_from_msgbody, offline_push_from_rest

push = Commands("all_member_push", invalid_code=90001)  # 90001: the request could not be parsed

REGISTRIES = (push,)

UINT32_MAX = 2**32 - 1
MSG_LIFETIME_MAX = 7 * 24 * 3600  # MsgLifeTime (s); 0 (the default): online users only
BODY_MAX_BYTES = 10 * 1024  # "the request body supports at most 10K"
BAD_MSG_RANDOM = 90005  # MsgRandom missing or not an integer
BAD_LIFETIME = 90026  # MsgLifeTime out of range
CONDITION_NOT_ENABLED = 90045  # tag / attribute push is not enabled
BODY_TOO_LARGE = 90056


@push.command("im_push")
async def im_push(ctx: RestContext, body: Body) -> dict[str, Any]:
    if len(orjson.dumps(body.raw)) > BODY_MAX_BYTES:
        raise IMError(BODY_TOO_LARGE, f"the request body is over {BODY_MAX_BYTES} bytes")
    if body.has("Condition"):
        raise IMError(
            CONDITION_NOT_ENABLED,
            "Condition (TagsAnd/TagsOr/AttrsAnd/AttrsOr): imql keeps no push tags or user attributes; "
            "leave Condition out to push to every account",
        )
    random = Body(body.raw, BAD_MSG_RANDOM).integer("MsgRandom", lo=0, hi=UINT32_MAX)
    lifetime = Body(body.raw, BAD_LIFETIME).integer("MsgLifeTime", 0, lo=0, hi=MSG_LIFETIME_MAX)
    content = content_from_msgbody(body.raw.get("MsgBody"), body.invalid_code)
    info = offline_push_from_rest(body.raw.get("OfflinePushInfo"), body.invalid_code)
    sender = body.string("From_Account", None)
    if sender is None or sender in ctx.admins:  # the app admin pushes as itself ("administrator" in the sample)
        sender = sender or admin_account(ctx)
        await ctx.engine.accounts.ensure_account(sender)
    else:
        await require_accounts(ctx, [sender])
    spec = PushSpec(sender=sender, random=random, content=content, offline_push=lifetime > 0, offline_push_info=info)
    return {"TaskId": await ctx.engine.all_member_push.start_task(spec)}
