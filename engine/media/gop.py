"""Demuxed packets with a look-ahead to the next keyframe, and which of a GOP's packets are needed.

Sampling at 2 frames per second out of 30, the frame for the last tick inside a GOP is
often well before the GOP's end; the frames after it are decoded only to be thrown away.
They need not be decoded at all when the next keyframe starts afresh. At each keyframe the
decoder reads the GOP's packets ahead (headers only, nothing is decoded) and makes a
``GopPlan``:
  * ``last_needed``: for H.264 and HEVC, whose packets say whether other frames refer to them
    (H.264's nal_ref_idc, HEVC's NAL unit types: what skip_frame="NONREF" looks at; see
    ``picture_references``), which frames the decoder will output is
    known in advance, so is every frame the sampling clock can keep (``needed_packets``); every
    packet after the last of them in decode order is skipped.
  * ``tail_from`` otherwise: once a frame at or after the time of the last tick the GOP can
    serve has come out (``gop_last_wanted``), no later frame of it can be kept.
  * ``dropped``: in H.264 GOPs whose P-slices refer to I- and P-pictures only, every B-picture (see
    ``without_b_pictures`` and ``engine.media.h264_headers``).
Open GOPs (pictures after the next keyframe that are shown before it and may refer back into
this GOP) are detected and never skipped.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence

import av

from engine.media.h264_headers import B, H264Headers, p_slices_skip_b, split_nals
from engine.media.hevc_nals import HevcReferences
from engine.media.sampling import SampleClock

LOOKAHEAD_PACKETS = 2048   # longest GOP read ahead (68 s at 30 fps); longer ones are decoded whole
LEADING_CHECK = 16         # packets after a keyframe searched for pictures shown before it

_END = object()


class PacketReader:
    """``container.demux(stream)`` as a queue that can be read ahead.

    ``next()`` returns packets in decode order and raises StopIteration at the end, or the
    FFmpegError the demuxer raised, at the place in the stream where it happened.
    """

    def __init__(self, packets: Iterator[av.Packet]):
        self._packets = packets
        self._ahead: deque = deque()
        self._done = False

    def next(self) -> av.Packet:
        item = self._ahead.popleft() if self._ahead else self._read()
        if item is _END:
            raise StopIteration
        if isinstance(item, Exception):
            raise item
        return item

    def _read(self):
        if self._done:
            return _END
        try:
            return next(self._packets)
        except StopIteration:
            self._done = True
            return _END
        except av.FFmpegError as exc:   # a broken container ends the stream after this error
            self._done = True
            return exc

    def _peek(self, i: int):
        while len(self._ahead) <= i:
            item = self._read()
            self._ahead.append(item)
            if item is _END or isinstance(item, Exception):
                break
        return self._ahead[i] if i < len(self._ahead) else _END

    def peek(self, i: int) -> av.Packet | None:
        """The packet ``i`` places ahead (0 = what ``next()`` returns), None at the end or a read error."""
        item = self._peek(i)
        return None if item is _END or isinstance(item, Exception) or _is_flush(item) else item

    def gop_ahead(self) -> list[av.Packet] | None:
        """The packets up to the next keyframe or the end (this GOP's rest, left in the queue); None
        when unknown (a packet without pts, a read error, too long, or pictures after the next
        keyframe that are shown before it: an open GOP)."""
        rest: list[av.Packet] = []
        for i in range(LOOKAHEAD_PACKETS):
            item = self._peek(i)
            if item is _END or (not isinstance(item, Exception) and _is_flush(item)):
                return rest
            if isinstance(item, Exception) or item.pts is None:
                return None
            if item.is_keyframe:
                return rest if not self._leads_back(i, item.pts) else None
            rest.append(item)
        return None

    def _leads_back(self, key_index: int, key_pts: int) -> bool:
        """Whether packets just after the keyframe at ``key_index`` are shown before it."""
        for j in range(key_index + 1, key_index + 1 + LEADING_CHECK):
            item = self._peek(j)
            if item is _END or isinstance(item, Exception) or _is_flush(item) or item.is_keyframe:
                return False
            if item.pts is None or item.pts < key_pts:
                return True
        return False


def _is_flush(packet: av.Packet) -> bool:
    return packet.size == 0


def gop_last_wanted(stamps: list[int], to_seconds, interval: float, tolerance: float) -> float | None:
    """The frame time from which on nothing more of this GOP is wanted, or None.

    ``stamps``: pts of this GOP's packets (the keyframe's included); ``to_seconds(pts)`` maps them
    like the frame clock does. The clock keeps the first frame at or after each tick
    k * interval - tolerance; the GOP's frames end at t_max, so the last tick it can serve is
    k_last = floor((t_max + tolerance) / interval). Once a frame at or after that tick's time is
    out, no later frame of the GOP can be kept.
    """
    if not stamps:
        return None
    t_max = to_seconds(max(stamps))
    if t_max is None:
        return None
    k_last = math.floor((t_max + tolerance) / interval + 1e-9)
    return k_last * interval - tolerance


@dataclass(frozen=True)
class GopPlan:
    tail_from: float | None = None     # frame time from which nothing more of this GOP is kept
    last_needed: int | None = None     # decode-order index (0 = keyframe) of the last packet needed
    dropped: frozenset[int] = frozenset()   # decode-order indices of B-pictures left out (see without_b_pictures)
    stand_ins: frozenset[int] = frozenset()  # pts of frames kept for the tick after them (see picks)


def picks(times: Sequence[float], output: Sequence[bool], interval: float, tolerance: float,
          nearest: bool = False) -> tuple[list[int], set[int]]:
    """The frames of a GOP the sampling clock keeps, and which of them stand in for the tick after them.

    ``times[i]``: frame time of packet i (decode order, 0 = the keyframe); ``output[i]``: whether the decoder
    outputs it. Returns decode-order indices. The clock keeps the first frame out at or after each tick
    k * interval - tolerance; the GOP's earliest frame may also stand for earlier ticks. With ``nearest``,
    where frames not output lie between two that are (B-pictures left out), the frame before a tick is kept
    for it instead when it is at least as near the tick as the frame after: the frame nearer the tick, and
    fewer pictures decoded.
    """
    shown = sorted((t, i) for i, (t, out) in enumerate(zip(times, output)) if out)
    hidden = sorted(t for t, out in zip(times, output) if not out)
    clock = SampleClock.on_grid(interval, tolerance)
    kept: list[int] = []
    stand_ins: set[int] = set()
    for n, (t, i) in enumerate(shown):
        if clock.wants(t):
            clock.take(t)
            kept.append(i)
        elif (nearest and n + 1 < len(shown) and bisect_right(hidden, t) < bisect_left(hidden, shown[n + 1][0])
              and _nearer_than_next(clock, t, shown[n + 1][0])):
            clock.take(t, stand_in=True)
            kept.append(i)
            stand_ins.add(i)
    return kept, stand_ins


def _nearer_than_next(clock: SampleClock, t: float, t_next: float) -> bool:
    """Whether a frame at ``t``, too early for the tick the clock waits for, is as near it as the next frame."""
    tick = clock.next_tick * clock.interval
    return (clock.wants(t, stand_in=True) and clock.wants(t_next)
            and tick - t <= t_next - tick + 1e-9)


def needed_packets(times: Sequence[float], output: Sequence[bool], interval: float, tolerance: float) -> int:
    """Decode-order index of the last packet holding a frame the sampling clock can keep (see ``picks``)."""
    kept, _ = picks(times, output, interval, tolerance)
    return max(kept) if kept else len(times) - 1


class H264References:
    """Whether H.264 packets hold reference pictures (nal_ref_idc != 0), from their NAL headers."""

    SLICE_TYPES = (1, 5)

    def __init__(self, extradata: bytes | None):
        # avcC extradata (MP4, MKV) starts with version 1 and gives the NAL length size; else Annex B.
        self.length_size = (extradata[4] & 3) + 1 if extradata and len(extradata) > 4 and extradata[0] == 1 else 0
        self.parameter_sets_in_extradata = bool(self.length_size) and _avcc_holds_sps_and_pps(extradata)

    def is_reference(self, packet: av.Packet) -> bool | None:
        """True/False when every slice agrees, None when unsure (no slice found, mixed fields)."""
        try:
            headers = self._headers(memoryview(packet))   # length-prefixed units: no copy of the packet
        except (ValueError, IndexError):
            return None
        refs = {(h >> 5) & 3 != 0 for h in headers if h & 0x1F in self.SLICE_TYPES}
        return refs.pop() if len(refs) == 1 else None

    def starts_afresh(self, packet: av.Packet) -> bool:
        """Whether the packet is an IDR picture (nothing before it is referred to) whose parameter sets a new
        decoder has: in the packet, or in avcC extradata that holds them."""
        try:
            types = {h & 0x1F for h in self._headers(memoryview(packet))}
        except (ValueError, IndexError):
            return False
        return 5 in types and ({7, 8} <= types or self.parameter_sets_in_extradata)

    def _headers(self, data) -> list[int]:
        return [nal[0] for nal in split_nals(data, self.length_size, head=1)]


class PictureReferences(Protocol):
    """What a codec's packet headers say about its pictures (``H264References``, ``hevc_nals.HevcReferences``)."""

    def is_reference(self, packet: av.Packet) -> bool | None: ...

    def starts_afresh(self, packet: av.Packet) -> bool: ...


def picture_references(codec_name: str, extradata: bytes | None) -> PictureReferences | None:
    """The reader of ``codec_name``'s packet headers, or None for codecs whose packets are not read."""
    if codec_name == "h264":
        return H264References(extradata)
    if codec_name == "hevc":
        return HevcReferences(extradata)
    return None


def _avcc_holds_sps_and_pps(avcc: bytes) -> bool:
    """avcC: byte 5 counts the SPS, each 2-byte-length prefixed, then one byte counts the PPS (ISO 14496-15)."""
    try:
        count, pos = avcc[5] & 0x1F, 6
        for _ in range(count):
            pos += 2 + int.from_bytes(avcc[pos:pos + 2], "big")
        return count > 0 and avcc[pos] > 0
    except IndexError:
        return False


def plan_gop(key: av.Packet, rest: list[av.Packet], to_seconds: Callable[[int], float | None], interval: float,
             tolerance: float, references: PictureReferences | None, skip_nonref: bool,
             headers: H264Headers | None = None) -> GopPlan:
    """What of this GOP to decode (see the module text); ``references`` for codecs whose packets say which are
    reference pictures (H.264, HEVC), ``headers`` only for H.264 when B-pictures may be left out."""
    packets = [key, *rest]
    times = [to_seconds(p.pts) for p in packets]
    if any(t is None for t in times):
        return GopPlan()
    tail_from = gop_last_wanted([p.pts for p in packets], to_seconds, interval, tolerance)
    if references is None:
        return GopPlan(tail_from=tail_from)
    if headers is not None:
        kept = without_b_pictures(packets, times, headers, interval)
        if kept is not None:
            chosen, stand_ins = picks(times, kept, interval, tolerance, nearest=True)
            return GopPlan(tail_from=tail_from, last_needed=max(chosen, default=len(packets) - 1),
                           dropped=frozenset(i for i, keep in enumerate(kept) if not keep),
                           stand_ins=frozenset(packets[i].pts for i in stand_ins))
    if skip_nonref:
        output = [True] + [references.is_reference(p) for p in rest]
        if any(o is None for o in output):
            return GopPlan(tail_from=tail_from)
    else:
        output = [True] * len(packets)
    return GopPlan(tail_from=tail_from, last_needed=needed_packets(times, output, interval, tolerance))


def without_b_pictures(packets: list[av.Packet], times: list[float], headers: H264Headers,
                       interval: float) -> list[bool] | None:
    """Which of an H.264 GOP's packets to decode when its B-pictures can be left out, else None.

    They can when its P-slices refer to I- and P-pictures only (``p_slices_skip_b``): those then decode to
    the same pixels, and a tick that fell on a B-picture takes the nearest I- or P-picture, a source frame
    or two away (the earlier one on a tie: ``picks``). Only when I- and P-pictures are less than half a
    sampling interval apart, so that no two ticks fall to the same picture.
    """
    pictures = [headers.slices(memoryview(p)) for p in packets]
    if not p_slices_skip_b(pictures):
        return None
    kept = [not any(s.slice_type == B for s in slices) for slices in pictures]
    shown = sorted(t for t, keep in zip(times, kept) if keep)
    gaps = [b - a for a, b in zip(shown, shown[1:])] + [max(times) - shown[-1]]
    return kept if max(gaps) <= interval / 2 else None
