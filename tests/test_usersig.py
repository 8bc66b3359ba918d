"""UserSig (TLSSigAPIv2): official sigs verify, every kind of bad sig is refused with its code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib

import pytest
import TLSSigAPIv2

from gateway.errors import Code, IMError
from gateway.usersig import mint, verify

APP = 1400123456
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
NOW = 1_700_000_000


def _urlsafe(data: bytes) -> str:
    return base64.b64encode(data).decode().replace("+", "*").replace("/", "-").replace("=", "_")


def _signed(user: str, app: int, t: int, expire: int, key: str = KEY, userbuf: str | None = None) -> str:
    content = f"TLS.identifier:{user}\nTLS.sdkappid:{app}\nTLS.time:{t}\nTLS.expire:{expire}\n"
    if userbuf is not None:
        content += f"TLS.userbuf:{userbuf}\n"
    return base64.b64encode(hmac.new(key.encode(), content.encode(), hashlib.sha256).digest()).decode()


def go_style_sig(user: str, t: int, expire: int) -> str:
    """As tls-sig-api-v2-golang writes it: compact JSON, its own key order, BestCompression."""
    doc = (
        f'{{"TLS.ver":"2.0","TLS.identifier":{json.dumps(user)},"TLS.sdkappid":{APP},'
        f'"TLS.expire":{expire},"TLS.time":{t},"TLS.sig":"{_signed(user, APP, t, expire)}"}}'
    )
    return _urlsafe(zlib.compress(doc.encode(), 9))


def java_style_sig(user: str, t: int, expire: int, userbuf: bytes) -> str:
    """As the Java library writes a sig with userbuf: org.json key order, numbers as written by Java."""
    buf = base64.b64encode(userbuf).decode()
    doc = {
        "TLS.sig": _signed(user, APP, t, expire, userbuf=buf),
        "TLS.userbuf": buf,
        "TLS.identifier": user,
        "TLS.expire": expire,
        "TLS.ver": "2.0",
        "TLS.time": t,
        "TLS.sdkappid": APP,
    }
    return _urlsafe(zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6))


def test_minted_sig_verifies() -> None:
    info = verify(mint(APP, KEY, "alice", now=NOW, expire=600), sdkappid=APP, secret_key=KEY, user_id="alice", now=NOW)
    assert (info.user_id, info.sdkappid, info.expires_at) == ("alice", APP, NOW + 600)


def test_official_python_library_sig_verifies() -> None:
    sig = TLSSigAPIv2.TLSSigAPIv2(APP, KEY).gen_sig("bob", 3600)
    info = verify(sig, sdkappid=APP, secret_key=KEY, user_id="bob", now=info_now(sig))
    assert info.user_id == "bob"
    assert info.expire_seconds == 3600


def info_now(sig: str) -> int:
    raw = zlib.decompress(base64.b64decode(sig.replace("*", "+").replace("-", "/").replace("_", "=")))
    return int(json.loads(raw)["TLS.time"]) + 1


def test_official_python_library_sig_with_userbuf_verifies() -> None:
    sig = TLSSigAPIv2.TLSSigAPIv2(APP, KEY).gen_sig_with_userbuf("carol", 3600, b"room-42")
    assert verify(sig, sdkappid=APP, secret_key=KEY, user_id="carol", now=info_now(sig)).user_id == "carol"


def test_go_library_layout_verifies() -> None:
    assert verify(go_style_sig("dave", NOW, 86400), sdkappid=APP, secret_key=KEY, user_id="dave", now=NOW).user_id


def test_java_library_layout_with_userbuf_verifies() -> None:
    sig = java_style_sig("erin", NOW, 86400, b"\x00\x01binary")
    assert verify(sig, sdkappid=APP, secret_key=KEY, user_id="erin", now=NOW).expires_at == NOW + 86400


def test_numbers_written_as_strings_verify() -> None:
    doc = {
        "TLS.ver": "2.0",
        "TLS.identifier": "frank",
        "TLS.sdkappid": str(APP),
        "TLS.expire": "600",
        "TLS.time": str(NOW),
        "TLS.sig": _signed("frank", APP, NOW, 600),
    }
    sig = _urlsafe(zlib.compress(json.dumps(doc).encode()))
    assert verify(sig, sdkappid=APP, secret_key=KEY, user_id="frank", now=NOW).expires_at == NOW + 600


@pytest.mark.parametrize(
    ("sig", "user", "now", "code"),
    [
        (mint(APP, "another-key", "alice", now=NOW), "alice", NOW, Code.ERR_USERSIG_INVALID),
        (mint(APP, KEY, "alice", now=NOW, expire=60), "alice", NOW + 61, Code.ERR_USERSIG_EXPIRED),
        (mint(APP, KEY, "alice", now=NOW), "mallory", NOW, Code.ERR_USERSIG_OTHER_USER),
        (mint(APP + 1, KEY, "alice", now=NOW), "alice", NOW, Code.ERR_USERSIG_OTHER_APP),
        ("not-a-sig", "alice", NOW, Code.ERR_USERSIG_INVALID),
        ("", "alice", NOW, Code.ERR_USERSIG_INVALID),
        (_urlsafe(zlib.compress(b"[1,2,3]")), "alice", NOW, Code.ERR_USERSIG_INVALID),
        (_urlsafe(zlib.compress(b'{"TLS.identifier":"alice"}')), "alice", NOW, Code.ERR_USERSIG_INVALID),
        (_urlsafe(zlib.compress(b"\x00" * 10_000_000)), "alice", NOW, Code.ERR_USERSIG_INVALID),  # zlib bomb
        ("A" * 100_000, "alice", NOW, Code.ERR_USERSIG_INVALID),
    ],
    ids=[
        "forged",
        "expired",
        "other-user",
        "other-app",
        "garbage",
        "empty",
        "not-object",
        "missing-fields",
        "zlib-bomb",
        "huge",
    ],
)
def test_bad_sigs_are_refused_with_their_code(sig: str, user: str, now: int, code: int) -> None:
    with pytest.raises(IMError) as refused:
        verify(sig, sdkappid=APP, secret_key=KEY, user_id=user, now=now)
    assert refused.value.code == code


def test_tampered_expiry_is_refused() -> None:
    raw = json.loads(
        zlib.decompress(
            base64.b64decode(
                mint(APP, KEY, "alice", now=NOW, expire=60).replace("*", "+").replace("-", "/").replace("_", "=")
            )
        )
    )
    raw["TLS.expire"] = 10**9
    forged = _urlsafe(zlib.compress(json.dumps(raw).encode()))
    with pytest.raises(IMError) as refused:
        verify(forged, sdkappid=APP, secret_key=KEY, user_id="alice", now=NOW + 120)
    assert refused.value.code == Code.ERR_USERSIG_INVALID
