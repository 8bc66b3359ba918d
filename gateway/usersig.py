"""UserSig (TLSSigAPIv2): minting and verification.

A UserSig is `urlsafe'(zlib(json))`, where urlsafe' is base64 with `+ / =` written `* - _`, and the
JSON carries TLS.ver, TLS.identifier, TLS.sdkappid, TLS.time, TLS.expire, optionally TLS.userbuf,
and TLS.sig = base64(HMAC-SHA256(secret key, the fields as "name:value\\n" lines)).

The official libraries differ byte-wise (JSON key order and spacing, zlib level, numbers written
as strings by some): verification therefore decodes and checks fields, never compares strings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass

from gateway.digits import parse_integer
from gateway.errors import Code, IMError

DEFAULT_EXPIRE_SECONDS = 180 * 86400  # the official libraries' default lifetime
MAX_SIG_LENGTH = 4096  # real sigs are ~200-400 chars; refuse megabyte blobs before inflating
MAX_INFLATED_BYTES = 16 * 1024  # a zlib bomb cannot make us allocate more than this


@dataclass(frozen=True)
class SigInfo:
    user_id: str
    sdkappid: int
    issued_at: int
    expire_seconds: int

    @property
    def expires_at(self) -> int:
        return self.issued_at + self.expire_seconds


def _content_to_sign(user_id: str, sdkappid: int, issued_at: int, expire: int, userbuf: str | None) -> bytes:
    text = f"TLS.identifier:{user_id}\nTLS.sdkappid:{sdkappid}\nTLS.time:{issued_at}\nTLS.expire:{expire}\n"
    if userbuf is not None:
        text += f"TLS.userbuf:{userbuf}\n"
    return text.encode("utf-8")


def _digest(key: str, content: bytes) -> bytes:
    return hmac.new(key.encode("utf-8"), content, hashlib.sha256).digest()


def _urlsafe_encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").translate(str.maketrans("+/=", "*-_"))


def _urlsafe_decode(text: str) -> bytes:
    return base64.b64decode(text.translate(str.maketrans("*-_", "+/=")), validate=True)


def mint(sdkappid: int, secret_key: str, user_id: str, *, now: int, expire: int = DEFAULT_EXPIRE_SECONDS) -> str:
    """A UserSig as the official Python library makes it."""
    digest = _digest(secret_key, _content_to_sign(user_id, sdkappid, now, expire, None))
    doc = {
        "TLS.ver": "2.0",
        "TLS.identifier": user_id,
        "TLS.sdkappid": sdkappid,
        "TLS.expire": expire,
        "TLS.time": now,
        "TLS.sig": base64.b64encode(digest).decode("ascii"),
    }
    return _urlsafe_encode(zlib.compress(json.dumps(doc).encode("utf-8")))


def _as_int(doc: dict[str, object], name: str) -> int:
    value = doc.get(name)
    if isinstance(value, bool):
        raise ValueError(name)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and (number := parse_integer(value)) is not None:
        return number
    raise ValueError(name)


def _decode(sig: str) -> dict[str, object]:
    if not sig or len(sig) > MAX_SIG_LENGTH:
        raise ValueError("length")
    inflater = zlib.decompressobj()
    raw = inflater.decompress(_urlsafe_decode(sig.strip()), MAX_INFLATED_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("too large")
    doc = json.loads(raw.decode("utf-8"))
    if not isinstance(doc, dict):
        raise ValueError("not an object")
    return doc


def verify(sig: str, *, sdkappid: int, secret_key: str, user_id: str, now: float) -> SigInfo:
    """Check a UserSig for this app and user; raise IMError with the login code otherwise."""
    try:
        doc = _decode(sig)
        sig_user = doc.get("TLS.identifier")
        if not isinstance(sig_user, str):
            raise ValueError("identifier")
        sig_app = _as_int(doc, "TLS.sdkappid")
        issued = _as_int(doc, "TLS.time")
        expire = _as_int(doc, "TLS.expire")
        claimed = doc.get("TLS.sig")
        if not isinstance(claimed, str):
            raise ValueError("sig")
        claimed_digest = base64.b64decode(claimed, validate=True)
        userbuf = doc.get("TLS.userbuf")
        if userbuf is not None and not isinstance(userbuf, str):
            raise ValueError("userbuf")
    except (ValueError, binascii.Error, zlib.error, UnicodeDecodeError) as exc:
        raise IMError(Code.ERR_USERSIG_INVALID, "userSig cannot be decoded") from exc

    if sig_app != sdkappid:
        raise IMError(Code.ERR_USERSIG_OTHER_APP, f"userSig was issued for SDKAppID {sig_app}, not {sdkappid}")
    if sig_user != user_id:
        raise IMError(Code.ERR_USERSIG_OTHER_USER, "userSig was issued for another userID")
    expected = _digest(secret_key, _content_to_sign(sig_user, sig_app, issued, expire, userbuf))
    if not hmac.compare_digest(expected, claimed_digest):
        raise IMError(Code.ERR_USERSIG_INVALID, "userSig signature does not match this app's secret key")
    info = SigInfo(user_id=sig_user, sdkappid=sig_app, issued_at=issued, expire_seconds=expire)
    if info.expires_at <= now:
        raise IMError(Code.ERR_USERSIG_EXPIRED, "userSig has expired")
    return info
