"""Decoded frames as 8-bit SDR RGB, HDR ones (PQ or HLG) tone-mapped to BT.709 on the way.

Phones record HDR by default (HLG on iPhones, PQ/HDR10 on others). Read as if it were SDR, an HDR
picture is dim and washed out (PQ) or flat (HLG), its colours pulled towards grey by the wider BT.2020
primaries: a red square comes out brown. The model, the thumbnails and the stills want what an SDR
display would show, so such frames are scaled to 16-bit RGB by swscale (its matrix and range from the
frame), turned into display light with the transfer's own curve (BT.2100), put with their diffuse
white (BT.2408: 203 cd/m2) at SDR white, highlights above it rolled off smoothly, converted to BT.709
primaries and encoded for an SDR display (BT.1886, gamma 2.4: display light to display light, as BT.2408's
conversions and zimg/FFmpeg's zscale do). Frames without a PQ or HLG transfer are converted as before.

Measured on shapes-world renders turned into HDR with FFmpeg's zscale: benchmarks/RESULTS.md, "HDR video".
"""
from __future__ import annotations

from functools import lru_cache

import av
import numpy as np
from av.video.reformatter import VideoReformatter

PQ = 16    # AVCOL_TRC_SMPTE2084
HLG = 18   # AVCOL_TRC_ARIB_STD_B67
BT2020 = 9  # AVCOL_PRI_BT2020

REFERENCE_WHITE = 203.0      # cd/m2 of diffuse white in HDR video (ITU-R BT.2408), shown as SDR white
HLG_PEAK = 1000.0            # the nominal display HLG's system gamma of 1.2 is defined for (BT.2100)
KNEE = 0.8                   # below this share of SDR white the picture keeps its light; above, it rolls off

# Linear BT.2020 RGB -> linear BT.709 RGB (ITU-R BT.2087).
BT2020_TO_BT709 = np.array([[1.6605, -0.5876, -0.0728],
                            [-0.1246, 1.1329, -0.0083],
                            [-0.0182, -0.1006, 1.1187]], np.float32)
BT2020_LUMA = np.array([0.2627, 0.6780, 0.0593], np.float32)


def is_hdr(frame: av.VideoFrame) -> bool:
    return frame.color_trc in (PQ, HLG)


def frame_rgb(frame: av.VideoFrame, width: int, height: int, scaler: VideoReformatter | None = None) -> np.ndarray:
    """The frame scaled to width x height (area interpolation) as 8-bit SDR RGB [H, W, 3]."""
    scaler = scaler or VideoReformatter()
    if not is_hdr(frame):
        return scaler.reformat(frame, width, height, "rgb24", interpolation="AREA").to_ndarray()
    rgb48 = scaler.reformat(frame, width, height, "rgb48le", interpolation="AREA").to_ndarray()
    return tone_mapper(frame.color_trc, frame.color_primaries == BT2020)(rgb48)


@lru_cache(maxsize=4)
def tone_mapper(transfer: int, bt2020: bool) -> ToneMapper:
    return ToneMapper(transfer, bt2020)


class ToneMapper:
    """16-bit HDR R'G'B' [H, W, 3] -> 8-bit BT.709 SDR RGB; the curves are tables, built once."""

    def __init__(self, transfer: int, bt2020: bool) -> None:
        if transfer not in (PQ, HLG):
            raise ValueError(f"not an HDR transfer: {transfer}")
        self.transfer = transfer
        self.to_bt709 = BT2020_TO_BT709 if bt2020 else None
        codes = np.arange(65536, dtype=np.float64) / 65535.0
        # PQ gives display light outright; HLG gives scene light, made display light per pixel (its luminance).
        linear = pq_eotf(codes) / REFERENCE_WHITE if transfer == PQ else hlg_inverse_oetf(codes)
        self.linear = linear.astype(np.float32)
        self.encode = np.round(bt1886_inverse_eotf(np.linspace(0.0, 1.0, 4096)) * 255.0).astype(np.uint8)

    def __call__(self, rgb48: np.ndarray) -> np.ndarray:
        light = self.linear[rgb48]                              # [H, W, 3] float32
        if self.transfer == HLG:
            luma = np.maximum(light @ BT2020_LUMA, 1e-6)      # the HLG OOTF: display = peak * Ys^(gamma-1) * E
            light *= (HLG_PEAK / REFERENCE_WHITE) * luma[..., None] ** 0.2
        # Rolled off on the brightest channel, the three scaled alike, so hues stay as they are.
        peak = np.maximum(np.maximum(light[..., 0], light[..., 1]), light[..., 2])
        bright = peak > KNEE
        if bright.any():
            over = peak[bright]
            light[bright] *= (roll_off(over) / over)[:, None]
        if self.to_bt709 is not None:
            light = light @ self.to_bt709.T
        codes = (np.clip(light, 0.0, 1.0) * 4095.0 + 0.5).astype(np.int32)
        return self.encode[codes]


def roll_off(x: np.ndarray) -> np.ndarray:
    """Light relative to SDR white -> below 1: unchanged up to KNEE, then a shoulder with slope 1 at the knee (no
    visible edge) that nears 1 slowly, so highlights a few times white keep some gradation: white 0.9, twice
    white 0.97, four times 0.99."""
    over = np.maximum(x - KNEE, 0.0) / (1.0 - KNEE)
    return np.where(x <= KNEE, x, KNEE + (1.0 - KNEE) * over / (1.0 + over))


def pq_eotf(e: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 / BT.2100 PQ: non-linear signal [0, 1] -> display light in cd/m2."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    p = np.power(e, 1.0 / m2)
    return 10000.0 * np.power(np.maximum(p - c1, 0.0) / (c2 - c3 * p), 1.0 / m1)


def hlg_inverse_oetf(e: np.ndarray) -> np.ndarray:
    """BT.2100 HLG: non-linear signal [0, 1] -> normalised scene light [0, 1]."""
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    low = e * e / 3.0
    high = (np.exp((np.maximum(e, 0.5) - c) / a) + b) / 12.0
    return np.where(e <= 0.5, low, high)


def bt1886_inverse_eotf(light: np.ndarray) -> np.ndarray:
    """BT.1886 (an SDR display, black at 0): display light relative to white [0, 1] -> signal [0, 1]."""
    return np.power(light, 1.0 / 2.4)
