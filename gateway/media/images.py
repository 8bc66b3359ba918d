"""What an uploaded image is, and its renditions (the SDK's THUMB and LARGE)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from gateway.errors import invalid

THUMB_MAX_SIDE = 198  # the SDK's thumbnail: longest side
LARGE_MAX_SIDE = 720  # the SDK's large image: longest side
_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
# An image is refused past this many pixels, read from its header before anything is decoded: the
# byte limit (28 MB) does not bound decoding cost, and a 144-megapixel PNG of a few KB took 1-3 s of
# CPU to make renditions of. 50 MP keeps every phone camera's photo (48 MP sensors) acceptable.
MAX_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # and Pillow's own guard behind ours, for any other path


@dataclass(frozen=True)
class Picture:
    data: bytes
    width: int
    height: int
    suffix: str


def inspect(data: bytes) -> Picture:
    try:
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: a refusal here, as past it
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
        with opened as img:
            suffix = _FORMATS.get(img.format or "")
            if suffix is None:
                raise invalid(f"file: {img.format or 'this'} images are not supported (JPEG, PNG, GIF, WebP, BMP)")
            if img.width * img.height > MAX_PIXELS:
                too_many = f"over {MAX_PIXELS // 1_000_000} megapixels"
                raise invalid(f"file: a {img.width}x{img.height} image is {too_many}; scale it down")
            return Picture(data=data, width=img.width, height=img.height, suffix=suffix)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow's own guard
        raise invalid(f"file: the image is over {MAX_PIXELS // 1_000_000} megapixels; scale it down") from exc
    except (UnidentifiedImageError, OSError) as exc:
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
