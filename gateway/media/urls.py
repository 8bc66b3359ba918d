"""What a message may name as its media: an http(s) URL its receivers can fetch.

The one rule for every way content comes in (the SDK's create*Message paths, the server API's
MsgBody, an app's rewrite of a message in a before-send callback): a receiver's client opens what
a message names, so nothing else (`javascript:`, `file:`, a path on the gateway's disk) is taken.
"""

from __future__ import annotations

from urllib.parse import urlparse

URL_MAX_LENGTH = 2048


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host, of at most URL_MAX_LENGTH characters."""
    if len(value) > URL_MAX_LENGTH:
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)
