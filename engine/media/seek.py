"""Frames at chosen times, reached by seeking: for a few frames far apart in a long file, without reading all of it."""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np

from engine.media.gop import PacketReader
from engine.media.hdr import frame_rgb
from engine.media.probe import open_error, pick_video_stream
from engine.media.sampling import rotate_for_display
from engine.media.types import MediaInfo

GAP_WITHOUT_KEYFRAMES = 10.0   # seconds decoded onward rather than seeking, when the keyframe interval is unknown
PEEK_PACKETS = 256             # packets read ahead for one shown at or after the time wanted; past them, the stream
                               # is taken to reach it (a 4K file's 8 s would otherwise be held in memory)


def seek_at_or_before(container: av.container.InputContainer, stream: av.video.stream.VideoStream, t: float,
                      landed: Callable[[], float | None]) -> None:
    """Seek so that reading ``stream`` starts at or before ``t`` (seconds from the stream's start). ``landed()`` reads
    what a seek landed on and says its time (None: nothing). MPEG-TS and MPEG-PS seeks can land after the time
    wanted, or (in some files) nowhere, the stream's own start included: each try starts further back, and when none
    works the file is read from its start (``seek(0)`` in AV_TIME_BASE, which works where those do not)."""
    origin = stream.start_time or 0
    back = 0.0
    while t - back > 0:
        target = origin + int((t - back) / stream.time_base)
        container.seek(target, stream=stream, backward=True)
        first = landed()
        if first is not None and first <= t + 1e-3:
            container.seek(target, stream=stream, backward=True)      # read again from where it landed
            return
        back = max(1.0, back * 2)
    container.seek(0)


def frames_at(path: str | Path, info: MediaInfo, times: list[float], size: tuple[int, int],
              onward_within: float | None = None, keyframes: bool = False) -> list[np.ndarray]:
    """The list ``iter_frames_at`` yields."""
    return list(iter_frames_at(path, info, times, size, onward_within, keyframes))


def iter_frames_at(path: str | Path, info: MediaInfo, times: list[float], size: tuple[int, int],
                   onward_within: float | None = None, keyframes: bool = False) -> Iterator[np.ndarray]:
    """RGB frames ``size`` (width, height) as stored, turned for display: for each of ``times`` (seconds from the
    start, ascending) the first frame at or after it, the last one before it past the end. The next time is
    reached by decoding onward when it lies within ``onward_within`` seconds (default: a keyframe interval) of the
    frame last decoded, by seeking otherwise. With ``keyframes``, a seek takes the keyframe it lands on (up to a
    keyframe interval before the time) unless that frame was taken already: one frame decoded instead of up to a
    whole keyframe interval of them. Each frame comes as soon as it is decoded; they stop at the first time that
    cannot be reached. Raises MediaError when the file cannot be opened."""
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise open_error(path, exc) from exc
    gap = max(info.keyframe_interval or GAP_WITHOUT_KEYFRAMES, 1.0) if onward_within is None else onward_within
    with container:
        stream = pick_video_stream(container, path)
        stream.codec_context.thread_type = "AUTO"
        reader = _ForwardReader(container, stream)
        try:
            taken = -math.inf
            for t in times:
                frame = reader.frame_at(t, seek=reader.last_time is None or not 0 <= t - reader.last_time <= gap,
                                        landing_after=taken if keyframes else None)
                if frame is None:
                    break
                taken = reader.last_time if reader.last_time is not None else t
                rgb = frame_rgb(frame, size[0], size[1])
                yield rotate_for_display(rgb, info.rotation)
        finally:
            reader.close()


class _ForwardReader:
    """Decodes one stream onward from wherever it last sought; remembers the last frame it decoded.

    A picture no other picture refers to (what skip_frame="NONREF" leaves out) and shown before the time wanted
    cannot be the first frame at or after it: such packets are not decoded, once a packet shown at or after that
    time is known to follow (else the last frame before it is the answer). The setting is made for each packet as
    it is sent, so the decoder's threads and reordering cannot apply it to the wrong picture."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream):
        self.container = container
        self.stream = stream
        self.origin = stream.start_time or 0
        self.frames = None                  # what frame_at reads: the decoding under way (a first frame put back)
        self._decoding: Iterator[av.VideoFrame] | None = None
        self.last: av.VideoFrame | None = None
        self.last_time: float | None = None
        self._wanted = -math.inf            # the time the frames decoded now lead to
        self._reached: tuple[float, bool] | None = None   # (wanted, whether a packet at or after it follows)
        self._skipping = False

    def frame_at(self, t: float, seek: bool, landing_after: float | None = None) -> av.VideoFrame | None:
        """The first frame at or after ``t`` (the last frame before it when the stream ends first). With
        ``landing_after``, a seek takes the first frame it lands on when that is later than ``landing_after``."""
        if self.last is not None and self.last_time is not None and self.last_time >= t - 1e-3 and not seek:
            return self.last
        try:
            landed = False
            where_known = not seek and self.frames is not None and self.last_time is not None
            self._wanted = t if where_known or landing_after is None else -math.inf
            if not where_known:
                self._seek(t)
                if landing_after is not None:
                    keyframe = self._keyframe_alone(landing_after)
                    if keyframe is not None:
                        return keyframe
                    self._seek(t)      # its packet was read: seek again and decode as usual
                else:
                    self._land_at_or_before(t)
                landed = landing_after is not None
            for frame in self.frames:
                self.last = frame
                if frame.pts is not None:
                    self.last_time = self._seconds(frame.pts)
                    if self.last_time >= t - 1e-3 or (landed and self.last_time > landing_after + 1e-3):
                        break
                if landed:
                    self._wanted = t
                landed = False
        except av.FFmpegError:
            return None
        return self.last

    def close(self) -> None:
        """Lets go of the decoding under way, its packets and frames, before the container closes: the frames'
        generator refers back to this reader, and garbage collection would free them later, on another thread."""
        if self._decoding is not None:
            self._decoding.close()
        self._decoding = self.frames = self.last = None

    def _seek(self, t: float, from_start: bool = False) -> None:
        if from_start:
            self.container.seek(0)     # the file's start, in AV_TIME_BASE: a seek to the stream's own start can fail
        else:
            self.container.seek(self.origin + int(t / self.stream.time_base), stream=self.stream, backward=True)
        self.close()
        self._reached = None
        self._decoding = self.frames = self._decode(PacketReader(self.container.demux(self.stream)))

    def _land_at_or_before(self, t: float) -> None:
        """Just after a seek to ``t``: when its first frame is later than ``t``, seek further back until it is not.
        MP4 indexes keyframes by decode time, and a keyframe of an open GOP (HEVC's CRA) is decoded before pictures
        shown earlier than it, which refer to the GOP before and are dropped after a seek: the seek lands on it,
        past the frame wanted. In some MPEG-TS files (long keyframe intervals) a seek lands nowhere, the stream's
        own start included: then the file is read from its start."""
        back = 0.0
        while True:
            first = next(self.frames, None)
            late = first is not None and first.pts is not None and self._seconds(first.pts) > t + 1e-3
            if (first is not None and not late) or back >= t:
                break
            back = min(t, max(1.0, 2 * back))
            self._seek(t - back)
        if first is None and back > 0:
            self._seek(0.0, from_start=True)
            first = next(self.frames, None)
        if first is not None:
            self.frames = itertools.chain([first], self.frames)

    def _decode(self, packets: PacketReader) -> Iterator[av.VideoFrame]:
        ctx = self.stream.codec_context
        while True:
            try:
                packet = packets.next()
            except StopIteration:
                return
            self._skip_nonref(packet.pts is not None and self._seconds(packet.pts) < self._wanted - 1e-3
                              and self._wanted_follows(packets))
            yield from ctx.decode(packet)      # the last packet, empty, drains the decoder

    def _wanted_follows(self, packets: PacketReader) -> bool:
        """Whether a packet shown at or after the time wanted is still to come."""
        if self._reached is None or self._reached[0] != self._wanted:
            i = 0
            while i < PEEK_PACKETS and (packet := packets.peek(i)) is not None and (
                    packet.pts is None or self._seconds(packet.pts) < self._wanted - 1e-3):
                i += 1
            self._reached = (self._wanted, i == PEEK_PACKETS or packets.peek(i) is not None)
        return self._reached[1]

    def _keyframe_alone(self, after: float) -> av.VideoFrame | None:
        """Just after a seek: the keyframe it landed on when that is later than ``after``, decoded by itself. Fed
        packet by packet, a decoder that reorders frames holds a keyframe back until it has decoded some of the
        frames after it; drained at once, it gives the keyframe alone. The decoder is then drained, so the next
        frame needs a seek (``frames`` is None). None, having read a packet, when the landing is not such a
        keyframe."""
        packet = next(iter(self.container.demux(self.stream)), None)
        if packet is None or packet.pts is None or not packet.is_keyframe:
            return None
        if self._seconds(packet.pts) <= after + 1e-3:
            return None
        ctx = self.stream.codec_context
        frames = [*ctx.decode(packet), *ctx.decode(None)]
        self.close()
        if not frames or frames[0].pts is None:
            return None
        self.last = frames[0]
        self.last_time = self._seconds(frames[0].pts)
        return self.last

    def _seconds(self, pts: int) -> float:
        return float((pts - self.origin) * self.stream.time_base)

    def _skip_nonref(self, skip: bool) -> None:
        if skip != self._skipping:
            self.stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"
            self._skipping = skip
