"""HEVC packets: which hold reference pictures and which start afresh, read from their NAL unit headers; sparse
sampling of HEVC keeps non-reference packets and GOP tails from the decoder, and decodes closed GOPs in lanes,
to the frames the decoder gives when it drops the same pictures itself."""
from __future__ import annotations

import numpy as np
import pytest

import videogen
from engine.media import sample_frames
from engine.media.gop import picture_references
from engine.media.hevc_nals import HevcReferences
from videogen import ShotSpec

SHOTS = [ShotSpec(2.0, pattern="pan", speed=30), ShotSpec(2.0, shape="square"), ShotSpec(2.0, pattern="pan", speed=60)]
CLOSED_GOPS = ["-preset", "veryfast", "-x265-params", "log-level=error:open-gop=0:scenecut=0"]
OPEN_GOPS = ["-preset", "veryfast", "-x265-params", "log-level=error:open-gop=1:scenecut=0"]

TRAIL_N, TRAIL_R, IDR_N_LP, VPS, SPS, PPS, AUD, PREFIX_SEI = 0, 1, 20, 32, 33, 34, 35, 39


class Packet(bytes):
    """Stands for an av.Packet: the readers only take a memoryview of it."""


def _header(nal_type: int, layer: int = 0, temporal_id: int = 0) -> bytes:
    return bytes([(nal_type << 1) | (layer >> 5), ((layer & 0x1F) << 3) | (temporal_id + 1)])


def _length_prefixed(*units: bytes) -> Packet:
    return Packet(b"".join(len(u).to_bytes(4, "big") + u for u in units))


def _annex_b(*units: bytes) -> Packet:
    return Packet(b"".join(b"\x00\x00\x00\x01" + u for u in units))


def _hvcc(*array_types: int, count: int = 1) -> bytes:
    header = bytearray(23)
    header[0] = 1                       # configurationVersion
    header[21] = 0x0F | (1 << 3)        # one temporal layer, 4-byte lengths
    header[22] = len(array_types)
    for nal_type in array_types:
        unit = _header(nal_type) + b"\x01\x02"
        header += bytes([0x80 | nal_type]) + count.to_bytes(2, "big") + (len(unit).to_bytes(2, "big") + unit) * count
    return bytes(header)


def test_reference_pictures_are_told_from_their_nal_unit_type():
    refs = HevcReferences(_hvcc(VPS, SPS, PPS))
    slice_body = b"\xaf\x12"
    assert refs.is_reference(_length_prefixed(_header(AUD) + b"\x50", _header(TRAIL_R) + slice_body)) is True
    assert refs.is_reference(_length_prefixed(_header(PREFIX_SEI) + b"\x05", _header(TRAIL_N) + slice_body)) is False
    assert refs.is_reference(_length_prefixed(_header(IDR_N_LP) + slice_body)) is True
    # a non-reference picture of a higher temporal layer is dropped by the decoder just the same
    assert refs.is_reference(_length_prefixed(_header(TRAIL_N, temporal_id=2) + slice_body)) is False


@pytest.mark.parametrize("units", [
    [_header(PREFIX_SEI) + b"\x05"],                                          # no picture
    [_header(SPS) + b"\x01", _header(TRAIL_N) + b"\xaf"],                     # parameter sets would be lost
    [_header(TRAIL_N) + b"\xaf", _header(TRAIL_R, layer=1) + b"\xaf"],        # another layer (MV-HEVC)
    [_header(36) + b"", _header(TRAIL_N) + b"\xaf"],                          # end of sequence: state to keep
    [_header(TRAIL_N) + b"\xaf", _header(TRAIL_R) + b"\xaf"],                 # slices that disagree
    [_header(24) + b"\xaf"],                                                  # a reserved type
    [b"\x02"],                                                                # cut short
])
def test_a_packet_is_called_non_reference_only_when_dropping_it_changes_nothing(units):
    assert HevcReferences(_hvcc(VPS, SPS, PPS)).is_reference(_length_prefixed(*units)) is None


def test_an_idr_picture_starts_afresh_only_with_its_parameter_sets_known():
    idr = _header(IDR_N_LP) + b"\xaf"
    assert HevcReferences(_hvcc(VPS, SPS, PPS)).starts_afresh(_length_prefixed(idr))
    assert not HevcReferences(_hvcc(VPS, SPS)).starts_afresh(_length_prefixed(idr))      # no PPS in hvcC
    assert not HevcReferences(_hvcc(VPS, SPS, PPS, count=0)).starts_afresh(_length_prefixed(idr))
    assert not HevcReferences(_hvcc(VPS, SPS, PPS)).starts_afresh(_length_prefixed(_header(TRAIL_R) + b"\xaf"))
    annex_b = HevcReferences(None)
    with_sets = _annex_b(_header(VPS) + b"\x0c", _header(SPS) + b"\x01", _header(PPS) + b"\xc1", idr)
    assert annex_b.starts_afresh(with_sets) and not annex_b.starts_afresh(_annex_b(idr))
    assert annex_b.is_reference(_annex_b(_header(AUD) + b"\x50", _header(TRAIL_N) + b"\xaf")) is False


def test_only_h264_and_hevc_packets_are_read():
    assert type(picture_references("hevc", None)).__name__ == "HevcReferences"
    assert type(picture_references("h264", None)).__name__ == "H264References"
    assert picture_references("vp9", None) is None


def _frames(path, rate, **options):
    sampler = sample_frames(path, rate, 64, **options)
    return sampler, [(round(f.time, 4), f.rgb) for f in sampler]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(ta == tb and np.array_equal(fa, fb) for (ta, fa), (tb, fb) in zip(a, b))


@pytest.mark.parametrize("name", ["closed_gops.mp4", "closed_gops.ts"])   # hvcC, and Annex B with in-band sets
@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_sparse_hevc_gives_the_frames_of_the_decoder_dropping_them_itself(video_factory, name, rate):
    truth = video_factory(f"hevc_{name}", codec="hevc", fps=25, keyint=50, bframes=3, shots=SHOTS,
                          encoder_args=CLOSED_GOPS)
    sparse, frames = _frames(truth.path, rate)
    decoder_skips, expected = _frames(truth.path, rate, skip_gop_tails=False, skip_b=False)
    assert sparse.stats.skipped_nonref and decoder_skips.stats.skipped_nonref
    assert decoder_skips.stats.packets_skipped == 0 and decoder_skips.stats.gops_in_lanes == 0
    assert _same(frames, expected)
    assert sparse.stats.gops_in_lanes == 3                      # three 2-s GOPs, each starting with an IDR picture
    # ticks up to 1.5 s of each 2-s GOP (1 frame/s: up to 1 s): the tails and the non-reference B-pictures
    # before them never reach a decoder
    assert sparse.stats.packets_skipped >= 0.4 * truth.frame_count
    assert sparse.stats.frames_decoded + sparse.stats.packets_skipped <= truth.frame_count
    assert not sparse.warnings and not decoder_skips.warnings


def test_open_hevc_gops_are_decoded_one_after_another(video_factory):
    truth = video_factory("hevc_open_gops.mp4", codec="hevc", fps=25, keyint=50, bframes=3, shots=SHOTS,
                          encoder_args=OPEN_GOPS)
    sparse, frames = _frames(truth.path, 2.0)
    assert sparse.stats.gops_in_lanes == 0
    assert _same(frames, _frames(truth.path, 2.0, skip_gop_tails=False, skip_b=False)[1])


def test_a_damaged_hevc_gop_is_reported_and_the_rest_decodes(video_factory, tmp_path):
    truth = video_factory("hevc_closed_gops.mp4", codec="hevc", fps=25, keyint=50, bframes=3, shots=SHOTS,
                          encoder_args=CLOSED_GOPS)
    # x265 makes small files: 400 bytes of the second GOP (2-4 s) damaged, the third left whole
    path = videogen.corrupt_middle(truth.path, tmp_path / "damaged.mp4", at_fraction=0.3, length=400)
    sampler, frames = _frames(path, 2.0)
    assert sampler.stats.gops_in_lanes >= 2 and sampler.stats.decode_errors + sampler.stats.corrupt_frames > 0
    assert sampler.warnings
    assert frames[-1][0] > 5.0                      # the GOP after the damage decoded
    assert _same(frames, _frames(path, 2.0, gop_lanes=False)[1])
