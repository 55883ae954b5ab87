"""sample_frames(path, fps, short_side) -> FrameSampler: RGB frames at a fixed sampling rate.

Speed: PyAV decodes with its own threads (thread_type "AUTO"); only the frames chosen by
timestamp are converted, and swscale resizes + converts them to RGB in one pass. Frames
thrown away are never converted.

Keyframes only: when the sampling interval is at least the keyframe interval seen by
``probe`` (``keyframes_only=None``, the default), the decoder skips non-key frames
(skip_frame="NONKEY"), which is many times faster; where the container flags keyframes, the other
packets never reach the decoder (``KeyPackets``), so its threads decode keyframes side by side. Then
every kept frame is a keyframe and its
time may be up to one keyframe interval after the tick it stands for; ``stats.keyframes_only``
says this happened. Pass ``keyframes_only=False`` to always decode every frame.

Keyframes decoded alone are not deblocked (FFmpeg's skip_loop_filter, ``skip_loop_filter=None``, the default:
on for H.264 and HEVC when only keyframes are decoded). No other decoded picture refers to them, so nothing
drifts; at the sampled size a 1080p H.264 keyframe differs by at most 8 of 255 levels (PSNR 52-57 dB), an HEVC
one by at most 11 (49-57 dB); H.264 takes 8-10 % less decoder CPU, HEVC 2-3 %.
In chains of P-pictures the loop filter stays on: there the differences add up from picture to picture (down
to 34 dB at the sampled size over 8-s GOPs, measured). ``stats.loop_filter_skipped`` says it happened; pass
``skip_loop_filter=False`` to deblock every picture.

Non-reference frames: when the sampling interval spans at least NONREF_MIN_SOURCE_FRAMES
source frames (``skip_nonref=None``, the default), frames no other frame depends on (most
B-frames) are not decoded at all (skip_frame="NONREF"): on typical camera and web video this
about halves decoding time. A kept frame is then at most a few source frames after its tick
(its time is still its own exact timestamp); ``stats.skipped_nonref`` says this happened.
Pass ``skip_nonref=False`` to decode them. In H.264 GOPs whose P-slices refer only to I- and
P-pictures (x264 at its faster presets), the B-pictures, reference ones included, are left out
too; the I- and P-pictures decode the same without them (``engine.media.h264_headers``), and a tick that
fell between two of them takes the nearer one, the earlier on a tie (``engine.media.gop.picks``; fewer
pictures decoded when the earlier one is the last a GOP needs). ``stats.gops_without_b`` counts those GOPs;
``skip_b=False`` keeps the B-pictures.
Such sparse H.264 and HEVC decoding also hands GOPs that start with an IDR picture to ``GopLanes``, which decodes
two at a time on single-threaded decoders (``engine.media.gop_lanes``; ``stats.gops_in_lanes``): the same frames,
since such a GOP needs nothing before it. ``gop_lanes=False`` decodes them one after another.

GOP tails: when the next keyframe starts afresh (a closed GOP) and no frame between the last
one kept from a GOP and that keyframe can be kept (``engine.media.gop``), those frames are not
decoded (``skip_gop_tails=None``, the default: on unless ``keyframes_only`` or ``skip_nonref``
is False). The kept frames are exactly the ones a full decode keeps; only frames that are
thrown away are saved. ``stats.packets_skipped`` counts them. In H.264 and HEVC, where the packets'
headers already tell which frames are non-reference (``engine.media.gop.picture_references``), those
packets too never reach the decoder, whose frame threads then decode the reference frames side by side,
and a GOP's tail is known from its packets before any of it is decoded.

On an NVIDIA GPU: with ``hwaccel="cuda"`` (what ``engine.media.hw_decode`` picks for the device setting) a file
that needs more than its keyframes is decoded by the GPU's video engine, to the same pictures, with the same
packets skipped (one decoder: no GOP lanes); ``stats.hardware`` says so. A device that cannot be opened leaves
the file to the CPU (``stats.hardware_refused`` says why).

The file is opened once: for H.264 and HEVC the probe's open file is decoded (``probe_keeping_file``), on a decoder
made from the stream's headers, from the packets the probe read and then the ones after them; opening a file again
costs FFmpeg the decoding of its first frames, about 26 ms for 1080p, which a folder of short clips pays per clip.

A stream damaged in the middle does not stop the work: what decodes is kept and
``sampler.warnings`` says what went wrong. ``sampler.stats`` splits the time spent between
decoding and converting (for benchmarks).
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import Iterator

import av
from av.video.reformatter import VideoReformatter

from engine.media import hw_decode
from engine.media.decode_cv import iter_opencv
from engine.media.gop import GopPlan, PacketReader, PictureReferences, picture_references, plan_gop
from engine.media.gop_lanes import FEED, DROP, NEVER, GopJob, GopLanes
from engine.media.h264_headers import H264Headers
from engine.media.hdr import frame_rgb
from engine.media.limits import DEFAULT_LIMITS, MediaLimits
from engine.media.probe import (LOOP_FILTER_SKIPPABLE, OpenedFile, check_readable, open_error, pick_video_stream,
                                probe, probe_keeping_file)
from engine.media.sampling import SampleClock, rotate_for_display, target_size
from engine.media.types import DecodeStats, MediaInfo, SampledFrame

MAX_CONSECUTIVE_ERRORS = 200   # packets in a row the decoder refuses before we give up on the rest
NONREF_MIN_SOURCE_FRAMES = 5   # skip non-reference frames when a sampling interval spans this many source frames
KEY_PACKETS_MIN_WAIT = 600     # non-key packets in a row dropped before the decoder is left to skip them (KeyPackets)
OWN_DECODER_CODECS = ("h264", "hevc")   # where a decoder made from the stream's headers decodes it the same


class FrameSampler:
    """Iterate to get SampledFrames in time order. Single use.

    After (or during) iteration: ``info`` (MediaInfo, with the probe's warnings), ``warnings``
    (readable sentences about decoding), ``stats`` (DecodeStats) and ``ended_early_at`` (time of the last frame when
    decoding stopped well before the end the headers state, else None).
    """

    def __init__(self, path: str | Path, fps: float, short_side: int, max_frames: int | None = None, *,
                 info: MediaInfo | None = None, keyframes_only: bool | None = None,
                 skip_nonref: bool | None = None, skip_gop_tails: bool | None = None, skip_b: bool | None = None,
                 gop_lanes: bool | None = None, skip_loop_filter: bool | None = None, hwaccel: str | None = None,
                 backend: str = "auto",
                 limits: MediaLimits = DEFAULT_LIMITS):
        if backend not in ("auto", "pyav", "opencv"):
            raise ValueError(f"unknown backend {backend!r}; choose auto, pyav or opencv")
        self.path = Path(path)
        self.fps = float(fps)
        self.short_side = int(short_side)
        self.max_frames = max_frames
        self.keyframes_only = keyframes_only
        self.skip_nonref = skip_nonref
        self.skip_gop_tails = skip_gop_tails
        self.skip_b = skip_b
        self.gop_lanes = gop_lanes
        self.skip_loop_filter = skip_loop_filter
        self.hwaccel = hwaccel
        self._lane_first_error = ""
        self._stand_ins: set[int] = set()   # pts of frames planned for the tick after them (GopPlan.stand_ins)
        self.backend = backend
        self.limits = limits
        self._opened: OpenedFile | None = None   # the probe's open file, decoded without opening it again
        if info is not None:
            self.info = info
        elif backend == "opencv" or hwaccel:
            self.info = probe(self.path, limits=limits, backend="opencv" if backend == "opencv" else "auto")
        else:
            self.info, self._opened = probe_keeping_file(self.path, limits=limits)
            if self._opened is not None and self.info.codec not in OWN_DECODER_CODECS:
                self._opened.close()
                self._opened = None
        self.clock = SampleClock(self.fps, self.info.fps)
        self.warnings: list[str] = []   # decoding only; probe's are in info.warnings
        self.stats = DecodeStats()
        self.ended_early_at: float | None = None   # set when decoding stopped well before the stated end
        self._used = False

    def __iter__(self) -> Iterator[SampledFrame]:
        if self._used:
            raise RuntimeError("a FrameSampler can be iterated once; make a new one")
        self._used = True
        if self.backend == "opencv" or self.info.backend == "opencv":
            frames = iter_opencv(self.path, self.info, self.clock, self.short_side, self.stats, self.warnings)
        else:
            frames = self._iter_pyav()
        try:
            yield from self._counted(frames)
        finally:
            frames.close()   # the file closes now, also when max_frames or the caller stopped early
            self.close()

    def close(self) -> None:
        """Close the file the probe left open, if decoding did not take it (a sampler never iterated)."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def _counted(self, frames: Iterator[SampledFrame]) -> Iterator[SampledFrame]:
        emitted = 0
        last_time = None
        for frame in frames:
            yield frame
            emitted += 1
            last_time = frame.time
            if self.max_frames is not None and emitted >= self.max_frames:
                return
        self._check_coverage(emitted, last_time)

    def _check_coverage(self, emitted: int, last_time: float | None) -> None:
        if emitted == 0:
            self.warnings.append("no video frame could be decoded")
            return
        # Headers of a truncated file may still state the full length in frames, not in seconds.
        expected = max(self.info.duration, self.info.frame_count / self.info.fps if self.info.fps > 0 else 0.0)
        slack = max(2 * self.clock.interval, 1.0, 2 * (self.info.keyframe_interval or 0.0))
        if last_time is not None and last_time < expected - slack:
            self.ended_early_at = last_time
            self.warnings.append(f"decoding ended at {last_time:.1f} s of {expected:.1f} s: "
                                 "the file is truncated or damaged; the rest was not indexed")

    def _use_keyframes_only(self) -> bool:
        if self.keyframes_only is not None:
            return self.keyframes_only
        interval = self.info.keyframe_interval
        return interval is not None and self.clock.interval >= interval

    def _use_skip_nonref(self) -> bool:
        if self.skip_nonref is not None:
            return self.skip_nonref
        return self.info.fps > 0 and self.clock.interval * self.info.fps >= NONREF_MIN_SOURCE_FRAMES

    def _use_skip_gop_tails(self) -> bool:
        if self.skip_gop_tails is not None:
            return self.skip_gop_tails
        return self.keyframes_only is not False and self.skip_nonref is not False

    def _use_skip_b(self) -> bool:
        return self.skip_b is not False and self.stats.skipped_nonref

    def _iter_pyav(self) -> Iterator[SampledFrame]:
        opened, self._opened = self._opened, None
        if opened is None:
            check_readable(self.path)
        container = opened.container if opened is not None else self._open()
        with container:
            stream = pick_video_stream(container, self.path)
            # The probe opened the stream's decoder for its one frame, on one thread: this file gets its own.
            ctx = own_decoder(stream) if opened is not None else stream.codec_context
            packets = opened.packets(stream) if opened is not None else container.demux(stream)
            self.limits.check_frame_size(str(self.path), stream.codec_context.width, stream.codec_context.height)
            if ctx.is_hwaccel:
                self.stats.hardware = self.hwaccel
            else:
                ctx.thread_type = "AUTO"
            self.stats.backend = "pyav"
            if self._use_keyframes_only():
                ctx.skip_frame = "NONKEY"
                self.stats.keyframes_only = True
                if self.skip_loop_filter is not False and ctx.name in LOOP_FILTER_SKIPPABLE:
                    ctx.options = {**ctx.options, "skip_loop_filter": "all"}
                    self.stats.loop_filter_skipped = True
            elif self._use_skip_nonref():
                ctx.skip_frame = "NONREF"
                self.stats.skipped_nonref = True
            width, height = target_size(self.info.width, self.info.height, self.short_side, self.info.sample_aspect)
            times = _FrameTimes(stream, self.info.fps)
            tails = self._use_skip_gop_tails() and not self.stats.keyframes_only
            skip_b = self._use_skip_b()
            # The probe saw the container flag keyframes, so non-key packets can be dropped before the decoder.
            key_packets = self.stats.keyframes_only and self.info.keyframe_interval is not None
            planned = times if tails or skip_b else None
            # One swscale context for the file: frame.to_ndarray(width=...) would build a new one per frame
            # (0.4 ms of the 1.5 ms a 1080p frame takes to scale).
            scaler = VideoReformatter()
            for frame, rotation in self._decoded(packets, stream, ctx, planned, key_packets, tails=tails,
                                                 skip_b=skip_b):
                t = times.of(frame)
                stand_in = frame.pts in self._stand_ins
                if stand_in:
                    self._stand_ins.discard(frame.pts)
                if not self.clock.wants(t, stand_in):
                    continue
                started = time.perf_counter()
                rgb = frame_rgb(frame, width, height, scaler)
                rgb = rotate_for_display(rgb, rotation)
                self.stats.convert_seconds += time.perf_counter() - started
                self.stats.frames_converted += 1
                self.clock.take(t, stand_in)
                yield SampledFrame(time=t, rgb=rgb)

    def _open(self) -> av.container.InputContainer:
        """The file opened for decoding: on ``hwaccel`` when asked, when more than keyframes are decoded and when the
        device opens; else on the CPU."""
        # Keyframes alone decode as fast or faster on the CPU's threads, without a GPU device per file
        # (benchmarks/RESULTS.md, "Decoding on the GPU").
        if self.hwaccel and not self._use_keyframes_only():
            self.stats.hardware_refused = hw_decode.refusal(self.hwaccel) or ""
            if not self.stats.hardware_refused:
                try:
                    return hw_decode.open_on_device(str(self.path), self.hwaccel)
                except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
                    self.stats.hardware_refused = str(exc.strerror if isinstance(exc, av.FFmpegError) else exc)
        try:
            container = av.open(str(self.path))
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise open_error(self.path, exc) from exc
        if self.stats.hardware_refused:   # the file opens: the device was what failed
            hw_decode.remember_refusal(self.hwaccel, self.stats.hardware_refused)
        return container

    def _decoded(self, demuxed: Iterator[av.Packet], stream: av.video.stream.VideoStream, ctx: av.CodecContext,
                 times: "_FrameTimes | None" = None, key_packets: bool = False, *, tails: bool = True,
                 skip_b: bool = False) -> Iterator[tuple[av.VideoFrame, int]]:
        """Decoded frames (of ``demuxed``, the stream's packets, decoded by ``ctx``) with the rotation to show them
        at; damaged packets are counted and skipped, a broken container ends the stream.

        With ``times`` (the frame clock's time mapping) each GOP is planned: with ``tails``, GOP tails nobody
        wants are skipped; with ``skip_b``, the B-pictures of H.264 GOPs that do not need them. With
        ``key_packets``, only packets the container flags as keyframes reach the decoder. H.264 and HEVC GOPs that
        start afresh go to ``GopLanes`` while the GOPs before them did.
        """
        packets = PacketReader(demuxed)
        # A decoder of our own does not see the display matrix in the stream's headers: the probe read it.
        own_rotation = None if ctx is stream.codec_context else self.info.rotation
        consecutive_errors = 0
        first_error = ""
        plan = GopPlan()
        position = 0                     # packets since the last keyframe
        skipping = False                 # dropping packets until the next keyframe
        references = picture_references(ctx.name, ctx.extradata) if times is not None else None
        # skip_frame="NONREF" drops these anyway; dropped here they do not hold up the decoder's frame threads
        # (see KeyPackets), which then decode the reference frames side by side.
        drop_nonref = references is not None and self.stats.skipped_nonref
        headers = H264Headers.from_extradata(ctx.extradata) if drop_nonref and skip_b and ctx.name == "h264" else None
        keys = KeyPackets(max(KEY_PACKETS_MIN_WAIT, 4 * (self.info.keyframe_interval or 0.0) * self.info.fps)
                          ) if key_packets else None
        lanes = (GopLanes(ctx.name, ctx.extradata, times.at, lambda: SampleClock(self.fps, self.info.fps))
                 if drop_nonref and self.gop_lanes is not False and not self.stats.hardware else None)
        with lanes or nullcontext():
            while True:
                started = time.perf_counter()
                try:
                    packet = packets.next()
                except StopIteration:
                    break
                except av.FFmpegError as exc:
                    self.warnings.append(f"reading stopped early: {exc.strerror or exc}")
                    packet = None
                if lanes is not None and packet is not None and packet.is_keyframe and packet.size:
                    job = self._lane_job(packets, packet, times, references, headers, tails)
                    self.stats.decode_seconds += time.perf_counter() - started
                    if job is not None:
                        if lanes.busy and not (yield from self._frames_of_oldest_gop(lanes)):
                            lanes = None     # gave up: the rest is not decoded
                            break
                        lanes.submit(job)
                        continue
                    # Decoded one after another from here: what the lanes hold comes first.
                    finished = yield from self._frames_of_all_gops(lanes)
                    lanes = None
                    if not finished:
                        break
                    started = time.perf_counter()
                if keys is not None and packet is not None and packet.size and not keys.wants(packet.is_keyframe):
                    self.stats.packets_skipped += 1
                    continue
                if packet is not None and times is not None and packet.size:
                    if packet.is_keyframe:
                        skipping, position = False, 0
                        rest = packets.gop_ahead() if packet.pts is not None else None
                        plan = self._plan_gop(packet, rest, times, references, headers, tails)
                    else:
                        position += 1
                        if (skipping or position in plan.dropped
                                or (drop_nonref and references.is_reference(packet) is False)):
                            self.stats.packets_skipped += 1
                            continue
                try:
                    frames = ctx.decode(packet)
                    consecutive_errors = 0
                except av.FFmpegError as exc:
                    frames = []
                    plan = GopPlan()         # a damaged GOP is decoded whole
                    self.stats.decode_errors += 1
                    consecutive_errors += 1
                    first_error = first_error or str(exc.strerror or exc)
                self.stats.decode_seconds += time.perf_counter() - started
                self.stats.frames_decoded += len(frames)
                for frame in frames:
                    if frame.is_corrupt:
                        self.stats.corrupt_frames += 1
                    yield frame, own_rotation if own_rotation is not None else (
                        getattr(frame, "rotation", self.info.rotation) or 0)
                    if plan.tail_from is not None and times.previous is not None and times.previous >= plan.tail_from:
                        skipping = True
                if plan.last_needed is not None and position >= plan.last_needed:
                    skipping = True
                if packet is None:
                    break
                if consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
                    self.warnings.append(f"gave up after {consecutive_errors} undecodable packets in a row")
                    break
            if lanes is not None:
                yield from self._frames_of_all_gops(lanes)
        first_error = first_error or self._lane_first_error
        if self.stats.decode_errors:
            self.warnings.append(f"{self.stats.decode_errors} damaged packet(s) skipped (first: {first_error})")
        if self.stats.corrupt_frames:
            self.warnings.append(f"{self.stats.corrupt_frames} frame(s) decoded with damage")

    def _lane_job(self, packets: PacketReader, key: av.Packet, times: "_FrameTimes",
                  references: PictureReferences, headers: H264Headers | None, tails: bool) -> GopJob | None:
        """The GOP starting at ``key`` as a job for a lane (its packets taken from ``packets``), or None when it
        must be decoded after the GOP before it: its keyframe is not an IDR picture, its end is not known, or
        the GOP after it refers back into it (does not start afresh)."""
        if key.pts is None or not references.starts_afresh(key):
            return None
        rest = packets.gop_ahead()
        if rest is None:
            return None
        following = packets.peek(len(rest))
        if following is not None and not references.starts_afresh(following):
            return None
        plan = self._plan_gop(key, rest, times, references, headers, tails)
        kinds = [FEED]
        for position, packet in enumerate(rest, start=1):
            if references.is_reference(packet) is False:
                kinds.append(NEVER)
            elif position in plan.dropped or (plan.last_needed is not None and position > plan.last_needed):
                kinds.append(DROP)
            else:
                kinds.append(FEED)
        for _ in rest:
            packets.next()
        return GopJob([key, *rest], kinds, tail_from=plan.tail_from, stand_ins=plan.stand_ins)

    def _frames_of_all_gops(self, lanes: GopLanes):
        """Yield the frames of every GOP in the lanes; False when errors said to stop decoding."""
        while lanes.pending:
            if not (yield from self._frames_of_oldest_gop(lanes)):
                return False
        return True

    def _frames_of_oldest_gop(self, lanes: GopLanes):
        """Yield the oldest lane GOP's frames; False when its errors say to stop decoding."""
        job, frames = lanes.oldest_frames()
        while True:
            started = time.perf_counter()          # decode_seconds: how long this thread waits for the lanes
            frame = next(frames, None)
            self.stats.decode_seconds += time.perf_counter() - started
            if frame is None:
                break
            yield frame, self.info.rotation     # a lane's decoder does not see the stream's display matrix
        self.stats.frames_decoded += job.frames_decoded
        self.stats.packets_skipped += job.packets_skipped
        self.stats.decode_errors += job.decode_errors
        self.stats.corrupt_frames += job.corrupt_frames
        self.stats.gops_in_lanes += 1
        self._lane_first_error = self._lane_first_error or job.first_error
        if job.most_errors_in_a_row >= MAX_CONSECUTIVE_ERRORS:
            self.warnings.append(f"gave up after {job.most_errors_in_a_row} undecodable packets in a row")
            return False
        return True

    def _plan_gop(self, key: av.Packet, rest: list[av.Packet] | None, times: "_FrameTimes",
                  references: PictureReferences | None, headers: H264Headers | None, tails: bool) -> GopPlan:
        """What of the GOP of ``key`` and ``rest`` (None: not known) to decode; without ``tails`` only the
        B-pictures left out, and the frames kept in their place, are kept of the plan."""
        if key.pts is None or rest is None:
            return GopPlan()
        plan = plan_gop(key, rest, times.seconds_of_pts, self.clock.interval, self.clock.tolerance, references,
                        skip_nonref=self.stats.skipped_nonref, headers=headers)
        if not tails:
            plan = GopPlan(dropped=plan.dropped, stand_ins=plan.stand_ins)
        self.stats.gops_without_b += bool(plan.dropped)
        self._stand_ins |= plan.stand_ins
        return plan


class KeyPackets:
    """Which packets reach the decoder when only keyframes are decoded: those the container flags as keyframes.

    skip_frame="NONKEY" alone skips the other frames too, but each of the decoder's frame threads takes one
    packet, so with skipped packets in flight the threads seldom hold two keyframes at once and decode them
    one after another; fed keyframes only, they decode them side by side. Should the flags stop (no keyframe
    for ``give_up_after`` packets), every packet goes through again and the decoder's own skipping decides:
    the same frames, only slower.
    """

    def __init__(self, give_up_after: float):
        self.give_up_after = give_up_after
        self.since_key = 0
        self.gave_up = False

    def wants(self, is_keyframe: bool) -> bool:
        if is_keyframe or self.gave_up:
            self.since_key = 0
            return True
        self.since_key += 1
        self.gave_up = self.since_key > self.give_up_after
        return self.gave_up


class _FrameTimes:
    """Frame times in seconds from the stream start: pts*time_base, else dts, else previous + 1/fps."""

    def __init__(self, stream: av.video.stream.VideoStream, fps: float):
        self.time_base = stream.time_base
        self.start = stream.start_time
        self.step = 1.0 / fps if fps > 0 else 0.04
        self.previous: float | None = None

    def seconds_of_pts(self, pts: int) -> float | None:
        """What ``of`` will say for a frame with this pts; None before the start is known."""
        start = self.start
        if start is None or not self.time_base:
            return None
        return max(0.0, float((pts - start) * self.time_base))

    def at(self, frame: av.VideoFrame) -> float | None:
        """What ``of`` will say for this frame, when it has a timestamp and the start is known; no state changes
        (GopLanes' threads call it)."""
        ts = frame.pts if frame.pts is not None else frame.dts
        return self.seconds_of_pts(ts) if ts is not None else None

    def of(self, frame: av.VideoFrame) -> float:
        ts = frame.pts if frame.pts is not None else frame.dts
        if ts is not None and self.time_base:
            if self.start is None:
                self.start = ts
            t = max(0.0, float((ts - self.start) * self.time_base))
        else:
            t = 0.0 if self.previous is None else round(self.previous + self.step, 6)
        self.previous = t
        return t


def own_decoder(stream: av.video.stream.VideoStream) -> av.CodecContext:
    """A decoder for an H.264 or HEVC ``stream`` made from its headers, as the stream's own would be before its
    first packet: the parameter sets, the reorder depth the container's probing found, and the colour the
    container states (frames whose bitstream says none take it: HDR is known by it)."""
    given = stream.codec_context
    ctx = av.CodecContext.create(given.name, "r")
    if given.extradata:
        ctx.extradata = given.extradata
    ctx.reorder_depth = given.reorder_depth
    for colour in ("color_primaries", "color_trc", "colorspace", "color_range"):
        setattr(ctx, colour, getattr(given, colour))
    return ctx


def sample_frames(path: str | Path, fps: float, short_side: int, max_frames: int | None = None,
                  **options) -> FrameSampler:
    """Frames of ``path`` at ``fps`` per second, shorter side ``short_side``, rotation applied.

    ``options``: info (a MediaInfo from an earlier probe), keyframes_only, skip_nonref, skip_gop_tails, skip_b,
    gop_lanes and skip_loop_filter (None = automatic, see the module text), backend ("auto", "pyav", "opencv"),
    limits (MediaLimits).
    Raises MediaError for files that cannot be opened at all.
    """
    return FrameSampler(path, fps, short_side, max_frames, **options)


__all__ = ["FrameSampler", "sample_frames"]
