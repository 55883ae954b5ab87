"""Segment thumbnails: one JPEG per segment, from its middle sampled frame."""
from __future__ import annotations

import cv2
import numpy as np

from engine.errors import MediaError

JPEG_QUALITY = 85
MAX_HEIGHT_PER_WIDTH = 2   # portrait phone video (16:9 on its side) keeps its shape; a 2x1000 frame does not
                           # become a 320x160000 JPEG (over JPEG's 65535-pixel limit)


def thumbnail(rgb: np.ndarray, width: int, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of an RGB uint8 [H,W,3] frame scaled to ``width`` pixels wide (aspect kept), or, for a frame
    more than MAX_HEIGHT_PER_WIDTH times taller than wide, to that many widths high."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 [H,W,3] frame, got {rgb.dtype} {rgb.shape}")
    if width < 1:
        raise ValueError(f"thumbnail width must be at least 1, not {width}")
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    if height > MAX_HEIGHT_PER_WIDTH * width:
        height = MAX_HEIGHT_PER_WIDTH * width
        width = max(1, round(rgb.shape[1] * height / rgb.shape[0]))
    interpolation = cv2.INTER_AREA if width < rgb.shape[1] else cv2.INTER_LINEAR
    bgr = cv2.cvtColor(cv2.resize(rgb, (width, height), interpolation=interpolation), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise MediaError(f"could not encode a {width}x{height} JPEG thumbnail")
    return data.tobytes()
