"""Signed media URLs: /media/<key>?u=<user>&e=<expiry>&s=<signature>. getMessageOnlineUrl issues
them only to those who can see the message; each names its user and lapses after URL_TTL_SECONDS,
so a leaked URL stops working soon and says whose it was. The exception: the URLs of messages sent
to Tencent (IMQL_BACKEND=tencent), which Tencent's own clients open for as long as Tencent keeps
the message, last LASTING_URL_TTL_SECONDS (revoked only by a new IMQL_SECRET_KEY)."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from gateway.digits import is_digits

URL_TTL_SECONDS = 3600
# A URL inside a message Tencent keeps (IMQL_BACKEND=tencent): Tencent's other clients open it for
# as long as the message is kept (roaming days are set in Tencent's console, up to years), so it
# lasts that long. The key it names is 144 random bits, so only those shown the message hold it.
LASTING_URL_TTL_SECONDS = 10 * 365 * 86400


class MediaSigner:
    def __init__(self, secret_key: str) -> None:
        # a key of its own, derived from the app's secret, so a media signature is never a UserSig part
        self._key = hmac.new(secret_key.encode(), b"imql media urls", hashlib.sha256).digest()

    def _mac(self, key: str, user_id: str, expires: int) -> str:
        message = f"{key}\n{user_id}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, key: str, user_id: str, now: float, ttl: int = URL_TTL_SECONDS) -> str:
        expires = int(now) + ttl
        query = urlencode({"u": user_id, "e": expires, "s": self._mac(key, user_id, expires)})
        return f"/media/{key}?{query}"

    def valid(self, key: str, user_id: str, expires: str, signature: str, now: float) -> bool:
        if not is_digits(expires) or int(expires) < now:
            return False
        return hmac.compare_digest(self._mac(key, user_id, int(expires)), signature)
