"""H.264 and HEVC GOPs that start afresh, decoded two at a time, each on a single-threaded decoder of its own.

Without its B-pictures (``engine.media.h264_headers``) a GOP is one chain of P-pictures, each needing the
one before, and the decoder's frame threads find little to do side by side: 1.1 of 2 cores for 1080p with
8-s keyframes, measured. A GOP whose keyframe is an IDR picture needs nothing decoded before it, and when the
next GOP's keyframe is one too, nothing after it refers back into it; two such GOPs can be decoded at once, on
two decoders of one thread each (no frame threads waiting on each other). Sampling that 1080p file at 1 frame/s:
6.9-7.1 s -> 3.5-3.9 s of wall time, and a little less CPU. HEVC GOPs that start with an IDR picture
(``engine.media.hevc_nals``), as phones record them, go to the lanes too.

Each GOP is a ``GopJob``: its packets, each marked FEED (decoded), DROP (left out by the GOP's plan, decoded
only once the GOP had a decoding error, as a damaged GOP is decoded whole) or NEVER (non-reference pictures,
which sparse sampling never shows). A lane passes on only the frames the sampling clock could keep (a clock
of its own, which keeps every frame the sampler's clock will keep and a few more); the sampler takes the
jobs' frames in the stream's order (``GopLanes.oldest_frames``).
"""
from __future__ import annotations

import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterator

import av

from engine.media.sampling import SampleClock

FEED, DROP, NEVER = range(3)
LANES = 2
FRAMES_AHEAD = 8         # frames a lane holds for the sampler before it waits (about 3 MB each at 1080p)
_DONE = object()


class IdleDecoders:
    """Lane decoders kept from one file to the next: a new decoder allocates its frame buffers again (11 ms of
    CPU for 1080p H.264, twice per file), which for a folder of short clips is a file's every GOP. A decoder is
    kept only after a GOP that ended cleanly (drained, then flushed), and given only to a file of the same codec
    whose stream headers (extradata) are the same bytes; at most ``keep`` of them are held, none unless a process
    that decodes file after file (an indexing worker) asks for them: each holds its frame buffers (24 MB at 1080p)."""

    def __init__(self, keep: int = 0):
        self.keep = keep
        self._lock = threading.Lock()
        self._idle: list[tuple[str, bytes, av.CodecContext]] = []

    def take(self, codec_name: str, extradata: bytes | None) -> av.CodecContext | None:
        key = bytes(extradata or b"")
        with self._lock:
            for i, (name, data, ctx) in enumerate(self._idle):
                if name == codec_name and data == key:
                    del self._idle[i]
                    return ctx
        return None

    def give_back(self, codec_name: str, extradata: bytes | None, ctx: av.CodecContext) -> None:
        with self._lock:
            self._idle.append((codec_name, bytes(extradata or b""), ctx))
            del self._idle[:len(self._idle) - self.keep]   # the oldest go: another camera's files came in between

    def hold(self, keep: int) -> None:
        """Keep up to ``keep`` idle decoders from now on."""
        with self._lock:
            self.keep = keep
            del self._idle[:len(self._idle) - keep]


IDLE_DECODERS = IdleDecoders()


@dataclass
class GopJob:
    """One GOP for a lane; what came of it is read after the sampler took its frames."""
    packets: list[av.Packet]
    kinds: list[int]
    tail_from: float | None = None            # frame time from which nothing more of the GOP is kept (else None)
    stand_ins: frozenset[int] = frozenset()   # pts of frames kept for the tick after them (GopPlan.stand_ins)
    frames_decoded: int = 0
    packets_skipped: int = 0
    decode_errors: int = 0
    most_errors_in_a_row: int = 0
    first_error: str = ""
    corrupt_frames: int = 0
    frames: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=FRAMES_AHEAD))


class GopLanes:
    """Decodes submitted GOPs on ``lanes`` threads; ``oldest_frames`` gives their frames in submission order.

    ``to_seconds(frame)`` is the sampler's frame time (None when the frame has no timestamp); ``clock`` makes
    each lane's own sampling clock.
    Use as a context manager: leaving it stops the lanes, also when the sampler's consumer stops early.
    """

    def __init__(self, codec_name: str, extradata: bytes | None,
                 to_seconds: Callable[[av.VideoFrame], float | None],
                 clock: Callable[[], SampleClock], lanes: int = LANES):
        self.codec_name = codec_name
        self.extradata = extradata
        self.to_seconds = to_seconds
        self.clock = clock
        self.lanes = lanes
        self._pool = ThreadPoolExecutor(lanes, thread_name_prefix="clipseek-gop-lane")
        self._pending: deque[tuple[GopJob, Future]] = deque()
        self._stop = threading.Event()
        self._local = threading.local()
        self._clean: dict[int, av.CodecContext] = {}   # by thread: decoders whose last GOP ended cleanly
        self._clean_lock = threading.Lock()

    def __enter__(self) -> "GopLanes":
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()          # a lane waiting to hand on a frame sees it within 0.1 s
        self._pool.shutdown(wait=True, cancel_futures=True)
        for ctx in self._clean.values():
            IDLE_DECODERS.give_back(self.codec_name, self.extradata, ctx)
        self._clean.clear()

    def submit(self, job: GopJob) -> None:
        self._pending.append((job, self._pool.submit(self._decode, job)))

    @property
    def pending(self) -> int:
        """GOPs submitted whose frames the sampler has not taken."""
        return len(self._pending)

    @property
    def busy(self) -> bool:
        """Whether every lane has a GOP (take the oldest one's frames before submitting another)."""
        return len(self._pending) >= self.lanes

    def oldest_frames(self) -> tuple[GopJob, Iterator[av.VideoFrame]]:
        """The oldest job and an iterator over its frames; read the job's counts once the iterator ends."""
        job, future = self._pending.popleft()
        return job, self._frames_of(job, future)

    def _frames_of(self, job: GopJob, future: Future) -> Iterator[av.VideoFrame]:
        while True:
            item = job.frames.get()
            if item is _DONE:
                break
            yield item
        future.result()          # a lane's own failure (not a decoding error) surfaces here

    def _decode(self, job: GopJob) -> None:
        try:
            self._decode_gop(job)
        finally:
            self._put(job, _DONE)

    def _decoder(self) -> av.CodecContext:
        """This lane's decoder: one per thread, kept from GOP to GOP (a new one per GOP allocates its frame
        buffers again: 11 % more CPU for 1-s GOPs)."""
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = IDLE_DECODERS.take(self.codec_name, self.extradata)
            if ctx is not None:
                self._local.ctx = ctx
                return ctx
            ctx = av.CodecContext.create(self.codec_name, "r")
            if self.extradata:
                ctx.extradata = self.extradata
            ctx.thread_count = 1
            ctx.skip_frame = "NONREF"
            self._local.ctx = ctx
        return ctx

    def _decode_gop(self, job: GopJob) -> None:
        ctx = self._decoder()
        lane = threading.get_ident()
        with self._clean_lock:
            self._clean.pop(lane, None)
        try:
            finished = self._decode_packets(ctx, job)
        except BaseException:
            self._local.ctx = None
            raise
        if job.decode_errors:    # damage may have left the decoder's parameter sets wrong: a new one next time
            self._local.ctx = None
        else:
            ctx.flush_buffers()  # after the drain at the GOP's end, ready for the next GOP
            if finished:
                with self._clean_lock:
                    self._clean[lane] = ctx

    def _decode_packets(self, ctx: av.CodecContext, job: GopJob) -> bool:
        """Decode the job's packets; False when stopped before its end."""
        clock = self.clock()
        damaged = tail = False
        in_a_row = 0
        for packet, kind in zip(job.packets, job.kinds):
            if self._stop.is_set():
                return False
            if kind == NEVER or (not damaged and (kind == DROP or tail)):
                job.packets_skipped += 1
                continue
            frames = self._send(ctx, job, packet)
            if frames is None:
                damaged = True
                in_a_row += 1
                job.most_errors_in_a_row = max(job.most_errors_in_a_row, in_a_row)
                continue
            in_a_row = 0
            for frame in frames:
                t = self._pass_on(job, clock, frame)
                if job.tail_from is not None and t is not None and t >= job.tail_from:
                    tail = True
        for frame in self._send(ctx, job, None) or []:
            self._pass_on(job, clock, frame)
        return not self._stop.is_set()

    def _send(self, ctx: av.CodecContext, job: GopJob, packet: av.Packet | None) -> list[av.VideoFrame] | None:
        try:
            frames = ctx.decode(packet)
        except av.FFmpegError as exc:
            job.decode_errors += 1
            job.first_error = job.first_error or str(exc.strerror or exc)
            return None
        job.frames_decoded += len(frames)
        return frames

    def _pass_on(self, job: GopJob, clock: SampleClock, frame: av.VideoFrame) -> float | None:
        if frame.is_corrupt:
            job.corrupt_frames += 1
        t = self.to_seconds(frame)
        # Frames without a time or out of time order go to the sampler's clock, which decides; this clock
        # keeps a superset of what the sampler's keeps (it starts each GOP at tick 0).
        stand_in = frame.pts in job.stand_ins
        if t is None or t <= clock.last_time or clock.wants(t, stand_in):
            if t is not None and t > clock.last_time:
                clock.take(t, stand_in)
            self._put(job, frame)
        return t

    def _put(self, job: GopJob, item) -> None:
        while not self._stop.is_set():
            try:
                job.frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

