"""Who is acting: the origin of the request being served, as Tencent's callbacks name it.

The web layer sets it once per request (an SDK user's session: their platform, IP and userID; the
REST API: `RESTAPI`, the app server's IP and the admin), and the engine reads it where it tells the
app's callback endpoint of an action (OptPlatform, ClientIP, Operator_Account). A context variable,
so no engine signature carries it: each request runs in its own task and sees only its own origin.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Origin:
    platform: str = "Unknown"  # Tencent's OptPlatform: RESTAPI, Web, Android, iOS, ...
    client_ip: str = ""
    operator: str = ""  # the acting account: the session's user, or the REST admin
    # callbacks this action must not cause (REST ForbidCallbackControl, e.g. "ForbidBeforeSendMsgCallback")
    forbidden: frozenset[str] = frozenset()


NOBODY = Origin()
_current: ContextVar[Origin] = ContextVar("imql_origin", default=NOBODY)


def current_origin() -> Origin:
    return _current.get()


def act_as(platform: str, client_ip: str, operator: str) -> None:
    """The rest of this request (task) acts from this origin."""
    _current.set(Origin(platform=platform, client_ip=client_ip, operator=operator))


def forbid_callbacks(controls: Iterable[str]) -> None:
    """A REST call's `ForbidCallbackControl`: the named callbacks are not sent for this request."""
    origin = _current.get()
    _current.set(replace(origin, forbidden=origin.forbidden | frozenset(controls)))
