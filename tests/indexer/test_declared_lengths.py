"""The length a container's header declares, read without a decoder, for the indexing progress's total."""
from __future__ import annotations

import subprocess

import pytest

from engine.indexer.declared_lengths import DeclaredLengthReader, declared_seconds
from engine.indexer.pipeline import _FileState
from engine.media import probe
from videogen import ShotSpec, make_video, truncate, write_random_bytes

# name: (codec, seconds, extra ffmpeg arguments)
KINDS = {
    "moov_at_end.mp4": ("h264", 1.6, []),            # ffmpeg's default: the header follows the media
    "faststart.mp4": ("h264", 2.0, ["-movflags", "+faststart"]),
    "camera.mov": ("h264", 2.4, []),
    "film.mkv": ("h264", 2.8, []),
    "web.webm": ("vp9", 1.2, []),
    "old.avi": ("mpeg4", 3.2, []),
    "broadcast.ts": ("h264", 2.2, []),               # no length declared: the video's timestamps span it
    "camcorder.m2ts": ("h264", 2.6, []),             # AVCHD's 192-byte packets
    # program streams, MPEG-2 and MPEG-1 PES headers: pictures larger than a pack, so that each has its timestamp
    "dvd.vob": ("mpeg2", 3.0, ["-s", "640x480"]),
    "old.mpg": ("mpeg1", 1.4, ["-s", "640x480"]),
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("declared")
    return {name: make_video(folder / name, codec=codec, size=(96, 64), fps=25, encoder_args=args,
                             shots=[ShotSpec(seconds, shape="square")])
            for name, (codec, seconds, args) in KINDS.items()}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_the_declared_length_is_the_videos_length(videos, name):
    truth = videos[name]
    seconds = declared_seconds(truth.path)
    assert seconds == pytest.approx(truth.duration, abs=0.05)
    assert seconds == pytest.approx(probe(truth.path).duration, abs=0.05)


def test_files_whose_header_says_nothing_readable_declare_no_length(videos, tmp_path):
    header_lost = truncate(videos["moov_at_end.mp4"].path, tmp_path / "header_lost.mp4", 0.5)
    cut_short = tmp_path / "cut_short.mkv"        # cut inside the header, before Info
    cut_short.write_bytes(videos["film.mkv"].path.read_bytes()[:48])
    fragmented = tmp_path / "fragmented.mp4"      # a live recording's MP4: its header declares no length
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(videos["faststart.mp4"].path), "-c", "copy",
                    "-movflags", "frag_keyframe+empty_moov", str(fragmented)], check=True)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n")
    for path in (header_lost, cut_short, fragmented, text, write_random_bytes(tmp_path / "noise.avi"),
                 tmp_path / "missing.mp4", tmp_path):
        assert declared_seconds(path) is None, path


def test_a_transport_stream_whose_timestamps_wrap_around_gives_its_length(videos, tmp_path):
    wrapped = tmp_path / "wrapped.ts"           # 33-bit timestamps at 90 kHz wrap after 95,443.7 s (the muxer adds 1.4)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(videos["broadcast.ts"].path), "-c", "copy",
                    "-output_ts_offset", "95441.5", str(wrapped)], check=True)
    assert declared_seconds(wrapped) == pytest.approx(videos["broadcast.ts"].duration, abs=0.05)


def test_a_transport_or_program_stream_without_video_timestamps_gives_no_length(videos, tmp_path):
    audio_only = tmp_path / "radio.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "mp2",
                    str(audio_only)], check=True)
    assert declared_seconds(audio_only) is None
    audio_only_ps = tmp_path / "radio.mpg"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "mp2",
                    str(audio_only_ps)], check=True)
    assert declared_seconds(audio_only_ps) is None
    cut_in_its_first_packets = tmp_path / "cut.m2ts"
    cut_in_its_first_packets.write_bytes(videos["camcorder.m2ts"].path.read_bytes()[:192 * 3])
    assert declared_seconds(cut_in_its_first_packets) is None


def test_the_reader_fills_in_each_files_declared_length(videos, tmp_path):
    files = [_FileState(i, str(truth.path), 0) for i, truth in enumerate(videos.values())]
    files.append(_FileState(99, str(tmp_path / "missing.mp4"), 0))
    reader = DeclaredLengthReader(files).start()
    reader.join(60)
    assert [f.declared for f in files[:-1]] == pytest.approx([t.duration for t in videos.values()], abs=0.05)
    assert files[-1].declared is None


def test_a_stopped_reader_reads_no_more(videos):
    files = [_FileState(1, str(videos["camera.mov"].path), 0)]
    reader = DeclaredLengthReader(files)
    reader.stop()                   # the run it serves ended before it began
    reader.start().join(10)
    assert files[0].declared is None
