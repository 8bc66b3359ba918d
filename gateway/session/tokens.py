"""Session tokens.

`<base64url(userID)>.<sig expiry, unix s>.<random>`: the userID lets us find the session's keys
(they live under the user's hash tag) without an index; the expiry lets a request on a session
whose key has lapsed be told 6206 (sig expired) rather than 6014. Neither is trusted beyond that:
the random part is the secret, and it must match a stored session.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from gateway.digits import is_digits

TOKEN_RANDOM_BYTES = 24  # 192 bits: not guessable
MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True, slots=True)
class ParsedToken:
    user_id: str
    expires_at: int
    session_id: str


def new_session_id() -> str:
    return secrets.token_urlsafe(TOKEN_RANDOM_BYTES)


def make_token(user_id: str, expires_at: int, session_id: str) -> str:
    user = base64.urlsafe_b64encode(user_id.encode("utf-8")).rstrip(b"=").decode("ascii")
    return f"{user}.{expires_at}.{session_id}"


def parse_token(token: str) -> ParsedToken | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not is_digits(parts[1]) or not parts[2]:
        return None
    try:
        user_id = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not user_id:
        return None
    return ParsedToken(user_id=user_id, expires_at=int(parts[1]), session_id=parts[2])
