"""What an uploaded image is, and its renditions (the SDK's THUMB and LARGE)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from gateway.errors import invalid

THUMB_MAX_SIDE = 198  # the SDK's thumbnail: longest side
LARGE_MAX_SIDE = 720  # the SDK's large image: longest side
_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
Image.MAX_IMAGE_PIXELS = 100_000_000  # refuse decompression bombs well before memory runs out


@dataclass(frozen=True)
class Picture:
    data: bytes
    width: int
    height: int
    suffix: str


def inspect(data: bytes) -> Picture:
    try:
        with Image.open(io.BytesIO(data)) as img:
            suffix = _FORMATS.get(img.format or "")
            if suffix is None:
                raise invalid(f"file: {img.format or 'this'} images are not supported (JPEG, PNG, GIF, WebP, BMP)")
            return Picture(data=data, width=img.width, height=img.height, suffix=suffix)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as exc:
        raise invalid("file: not an image this gateway can read") from exc


def rendition(original: Picture, max_side: int) -> Picture:
    """A copy no larger than max_side on its longest side (the original when already that small)."""
    if max(original.width, original.height) <= max_side:
        return original
    with Image.open(io.BytesIO(original.data)) as opened:
        opened.thumbnail((max_side, max_side))
        small: Image.Image = opened if opened.mode in ("RGB", "L") else opened.convert("RGB")
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=85)
        return Picture(data=out.getvalue(), width=small.width, height=small.height, suffix="jpg")
