"""The answer envelope of every REST v4 call, and the codes that are common to every service.

Tencent answers HTTP 200 for everything but network errors; the body says how it went:
`{"ActionStatus": "OK" | "FAIL", "ErrorCode": 0 | <code>, "ErrorInfo": "..."}`, plus the
command's own fields. Batch calls that partly fail answer OK (or `"SomeError"`, batchsendmsg)
with per-item results inside.
"""

from __future__ import annotations

from typing import Any

# Common codes (MAPPING.md section 2; Tencent's "RESTful API Overview" error table).
HTTP_PARSE_FAILED = 60002  # the HTTP request could not be parsed (e.g. the body is too large)
JSON_PARSE_FAILED = 60003  # the body is not a JSON object
ACCOUNT_OR_SIG_INVALID = 60004  # identifier or usersig missing or wrong
SIG_EXPIRED = 60005  # kept for reference: Tencent answers sig expiry with 70001 on current servers
SDKAPPID_INVALID = 60006  # sdkappid missing or not this app
URL_INVALID = 60009  # the service/command does not exist
ADMIN_REQUIRED = 60010  # the identifier is not an app admin
SERVER_INTERNAL = 70500  # an internal fault (logged by the server)
USERSIG_EXPIRED = 70001
USERSIG_INVALID = 70003

OK = "OK"
FAIL = "FAIL"
SOME_ERROR = "SomeError"  # batchsendmsg: some recipients failed, ErrorCode stays 0


def ok(fields: dict[str, Any] | None = None, *, status: str = OK) -> dict[str, Any]:
    """A success answer: the envelope first (as Tencent orders it), then the command's fields."""
    body: dict[str, Any] = {"ActionStatus": status, "ErrorInfo": "", "ErrorCode": 0}
    if fields:
        body.update(fields)
    return body


def fail(code: int, info: str) -> dict[str, Any]:
    """A failure answer (HTTP 200 all the same)."""
    return {"ActionStatus": FAIL, "ErrorInfo": info, "ErrorCode": int(code)}
