"""How Tencent signs a third-party callback (MAPPING.md section 5, FIXTURES.md A4).

With a callback token configured, each callback's query string ends in
`&Sign=<hex sha256(Token + RequestTime)>&RequestTime=<unix seconds>`: plain SHA-256 of the
concatenation, no HMAC and no separator. Test vector: token `xxxxyyyy`, RequestTime `1669872112`
-> `17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061`.
"""

from __future__ import annotations

import hashlib
import hmac

from gateway.digits import is_digits

# Tencent's Chat doc states no replay window; 60 s is the one its TRTC webhooks (same scheme) use.
REPLAY_WINDOW_SECONDS = 60


def callback_sign(token: str, request_time: int | str) -> str:
    return hashlib.sha256(f"{token}{request_time}".encode()).hexdigest()


def verify_callback_sign(
    token: str, sign: str, request_time: str, now: float, window: int = REPLAY_WINDOW_SECONDS
) -> bool:
    """A receiver's check: the sign matches (constant-time) and RequestTime is recent."""
    if not is_digits(request_time) or abs(now - int(request_time)) > window:
        return False
    # (bytes: compare_digest refuses a str with other than ASCII in it, and a Sign is the caller's)
    return hmac.compare_digest(callback_sign(token, request_time).encode(), sign.encode())
