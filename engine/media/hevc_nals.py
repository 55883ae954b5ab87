"""Which HEVC packets hold reference pictures, and which start afresh, from their NAL unit headers.

The same questions ``gop.H264References`` answers for H.264, so that sparse sampling of HEVC (most phone video)
can keep the packets FFmpeg's skip_frame="NONREF" would drop away from the decoder, plan GOP tails from the
packets alone, and decode GOPs that start with an IDR picture side by side (``gop_lanes``).

A NAL unit header is two bytes: forbidden bit, nal_unit_type (6 bits), nuh_layer_id (6), TemporalId + 1 (3).
FFmpeg's decoder, told to skip non-reference frames, drops every slice whose type is a sub-layer non-reference
one (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N and the reserved N types) before reading anything of it, whatever its
temporal layer. A packet of such slices that carries nothing else the decoder keeps state from (access unit
delimiters, filler and SEI only) therefore decodes to nothing and changes nothing when dropped.

Not read: a slice's pic_output_flag, with which a picture can ask not to be shown (only where its PPS allows it;
no common encoder writes it). Planning a GOP's tail takes every reference picture as shown.
"""
from __future__ import annotations

from engine.media.h264_headers import split_nals

NON_REFERENCE_TYPES = frozenset({0, 2, 4, 6, 8, 10, 12, 14})
REFERENCE_TYPES = frozenset({1, 3, 5, 7, 9, 11, 13, 16, 17, 18, 19, 20, 21})   # the VCL types defined besides
IDR_TYPES = frozenset({19, 20})                                                 # IDR_W_RADL, IDR_N_LP
PARAMETER_SET_TYPES = frozenset({32, 33, 34})                                   # VPS, SPS, PPS
STATELESS_TYPES = frozenset({35, 38, 39, 40})                                   # AUD, filler, prefix/suffix SEI
HVCC_HEADER_BYTES = 23


class HevcReferences:
    """``is_reference`` and ``starts_afresh`` for the packets of one HEVC stream (hvcC extradata or Annex B)."""

    def __init__(self, extradata: bytes | None):
        hvcc = _is_hvcc(extradata)
        self.length_size = (extradata[21] & 3) + 1 if hvcc else 0
        self.parameter_sets_in_extradata = hvcc and _hvcc_holds_parameter_sets(extradata)

    def is_reference(self, packet) -> bool | None:
        """True when the packet holds a picture other pictures may refer to, False when it holds only pictures
        the decoder would drop unread, None when unsure (no picture found, other layers, unknown types)."""
        try:
            units = self._headers(memoryview(packet))
        except (ValueError, IndexError):
            return None
        pictures = set()
        for nal_type, layer in units:
            if layer != 0:
                return None
            if nal_type in NON_REFERENCE_TYPES or nal_type in REFERENCE_TYPES:
                pictures.add(nal_type in REFERENCE_TYPES)
            elif nal_type not in STATELESS_TYPES and nal_type not in PARAMETER_SET_TYPES:
                return None
        if len(pictures) != 1:
            return None
        reference = pictures.pop()
        if not reference and any(t in PARAMETER_SET_TYPES for t, _ in units):
            return None   # parameter sets in a dropped packet would be lost to the pictures after it
        return reference

    def starts_afresh(self, packet) -> bool:
        """Whether the packet is an IDR picture (nothing before it is referred to) whose parameter sets a new
        decoder has: in the packet, or in hvcC extradata that holds them."""
        try:
            types = {nal_type for nal_type, _ in self._headers(memoryview(packet))}
        except (ValueError, IndexError):
            return False
        return bool(types & IDR_TYPES) and (PARAMETER_SET_TYPES <= types or self.parameter_sets_in_extradata)

    def _headers(self, data) -> list[tuple[int, int]]:
        units = []
        for nal in split_nals(data, self.length_size, head=2):
            if len(nal) < 2:
                raise ValueError("NAL unit shorter than its header")
            units.append(((nal[0] >> 1) & 0x3F, ((nal[0] & 1) << 5) | (nal[1] >> 3)))
        return units


def _is_hvcc(extradata: bytes | None) -> bool:
    """hvcC (MP4, MKV) rather than Annex B parameter sets, as FFmpeg tells them apart: no start code at the front."""
    if not extradata or len(extradata) < HVCC_HEADER_BYTES:
        return False
    return not (extradata[:3] == b"\x00\x00\x01" or extradata[:4] == b"\x00\x00\x00\x01")


def _hvcc_holds_parameter_sets(hvcc: bytes) -> bool:
    """hvcC (ISO 14496-15): byte 22 counts the arrays; each is a type byte, a 2-byte count, then units each with a
    2-byte length. True when VPS, SPS and PPS arrays each hold a unit."""
    found = set()
    try:
        pos = HVCC_HEADER_BYTES
        for _ in range(hvcc[22]):
            nal_type, count = hvcc[pos] & 0x3F, int.from_bytes(hvcc[pos + 1:pos + 3], "big")
            pos += 3
            for _ in range(count):
                pos += 2 + int.from_bytes(hvcc[pos:pos + 2], "big")
            if count and pos <= len(hvcc):
                found.add(nal_type)
    except IndexError:
        return False
    return PARAMETER_SET_TYPES <= found
