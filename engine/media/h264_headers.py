"""H.264 headers read from packets, enough to tell which pictures the P-slices of a GOP refer to.

When every P-slice of a GOP refers only to I- and P-pictures, the GOP's B-pictures (reference B-pictures
of a B-pyramid included) can be left undecoded: the I- and P-pictures decode to the same pixels
(``p_slices_skip_b``). x264 at its faster presets (one reference frame) writes such streams; at
``medium`` (three) its P-slices refer to B-pictures too, and the check says no.

Only what is needed is parsed: the sequence and picture parameter sets up to the fields a slice header
depends on, and slice headers up to list 0's reference list modification (ITU-T H.264, 7.3.2.1, 7.3.2.2,
7.3.3, 7.3.3.1). Anything not understood (field pictures, slice groups, long-term references, a missing
parameter set, a header cut short) makes the answer "unknown", and the caller decodes everything.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SLICE_NAL_TYPES = (1, 5)          # non-IDR and IDR coded slices
SPS_NAL, PPS_NAL = 7, 8
HIGH_PROFILES = (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135)
P, B, I, SP, SI = range(5)        # slice_type % 5
SLICE_HEADER_BYTES = 512          # parameter sets and slice headers up to list 0 modification fit in far less


class Unparsable(ValueError):
    """A header this reader does not follow (or a damaged one)."""


def split_nals(data, length_size: int, head: int | None = None) -> list[bytes]:
    """NAL units of one packet (``data``: bytes, or a memoryview of a packet): ``length_size``-byte big-endian
    lengths (avcC), or Annex B start codes (0). With ``head``, only each unit's first ``head`` bytes."""
    nals = []
    if length_size:
        view = memoryview(data)
        pos = 0
        while pos + length_size < len(view):
            length = int.from_bytes(view[pos:pos + length_size], "big")
            start = pos + length_size
            nals.append(bytes(view[start:start + min(length, head or length)]))
            pos = start + length
        return [n for n in nals if n]
    data = bytes(data)
    starts = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        starts.append(pos + 3)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        nals.append(data[start:min(end, start + head) if head else end])
    return [n for n in nals if n]


def _rbsp(nal: bytes, limit: int | None = None) -> bytes:
    """The payload after the NAL header byte, emulation-prevention bytes (00 00 03) removed."""
    body = nal[1:limit] if limit else nal[1:]
    return body.replace(b"\x00\x00\x03", b"\x00\x00")


class _Bits:
    def __init__(self, data: bytes):
        self._value = int.from_bytes(data, "big")
        self._left = len(data) * 8

    def u(self, n: int) -> int:
        if n > self._left:
            raise Unparsable("header cut short")
        self._left -= n
        return (self._value >> self._left) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise Unparsable("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


@dataclass(frozen=True)
class Sps:
    log2_max_frame_num: int
    poc_type: int
    log2_max_poc_lsb: int
    delta_pic_order_always_zero: bool
    frame_mbs_only: bool
    separate_colour_plane: bool
    chroma_format_idc: int
    max_num_ref_frames: int


@dataclass(frozen=True)
class Pps:
    sps_id: int
    bottom_field_pic_order_in_frame_present: bool
    num_ref_idx_l0_default: int
    num_ref_idx_l1_default: int
    weighted_pred: bool
    weighted_bipred_idc: int
    redundant_pic_cnt_present: bool


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt:
            nxt = (last + bits.se() + 256) % 256
        last = nxt or last


def parse_sps(nal: bytes) -> tuple[int, Sps]:
    bits = _Bits(_rbsp(nal))
    profile = bits.u(8)
    bits.u(16)                                   # constraint flags, level
    sps_id = bits.ue()
    separate, chroma = False, 1
    if profile in HIGH_PROFILES:
        chroma = bits.ue()
        if chroma == 3:
            separate = bool(bits.u(1))
        bits.ue(), bits.ue(), bits.u(1)          # bit depths, qpprime_y_zero_transform_bypass
        if bits.u(1):                            # seq_scaling_matrix_present
            for i in range(12 if chroma == 3 else 8):
                if bits.u(1):
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    log2_max_frame_num = bits.ue() + 4
    poc_type = bits.ue()
    log2_max_poc_lsb, always_zero = 0, False
    if poc_type == 0:
        log2_max_poc_lsb = bits.ue() + 4
    elif poc_type == 1:
        always_zero = bool(bits.u(1))
        bits.se(), bits.se()
        for _ in range(bits.ue()):
            bits.se()
    max_num_ref_frames = bits.ue()
    bits.u(1), bits.ue(), bits.ue()              # gaps_in_frame_num_allowed, width, height
    frame_mbs_only = bool(bits.u(1))
    return sps_id, Sps(log2_max_frame_num, poc_type, log2_max_poc_lsb, always_zero, frame_mbs_only, separate,
                       0 if separate else chroma, max_num_ref_frames)


def parse_pps(nal: bytes) -> tuple[int, Pps]:
    bits = _Bits(_rbsp(nal))
    pps_id, sps_id = bits.ue(), bits.ue()
    bits.u(1)                                    # entropy_coding_mode
    bottom_field_poc = bool(bits.u(1))
    if bits.ue():                                # slice groups (FMO): not followed
        raise Unparsable("slice groups")
    l0_default, l1_default = bits.ue() + 1, bits.ue() + 1
    weighted_pred, weighted_bipred_idc = bool(bits.u(1)), bits.u(2)
    bits.se(), bits.se(), bits.se()              # pic_init_qp, pic_init_qs, chroma_qp_index_offset
    bits.u(1), bits.u(1)                         # deblocking_filter_control_present, constrained_intra_pred
    redundant = bool(bits.u(1))
    return pps_id, Pps(sps_id, bottom_field_poc, l0_default, l1_default, weighted_pred, weighted_bipred_idc,
                       redundant)


@dataclass(frozen=True)
class Slice:
    slice_type: int                  # P, B, I, SP or SI
    frame_num: int
    max_frame_num: int
    idr: bool
    reference: bool                  # nal_ref_idc != 0
    num_ref_idx_l0: int = 0          # active list 0 entries (P, SP, B)
    l0_changes: tuple[tuple[int, int], ...] = ()   # list 0 modifications: (modification_of_pic_nums_idc, value)
    unmarked: tuple[int, ...] | None = None   # memory management: CurrPicNum minus these are unmarked; None:
                                              # the sliding window
    max_num_ref_frames: int = 0


@dataclass
class H264Headers:
    """Parameter sets seen so far (from the avcC extradata, then in-band) and the slices they let us read."""

    length_size: int = 0
    sps: dict[int, Sps] = field(default_factory=dict)
    pps: dict[int, Pps] = field(default_factory=dict)

    @classmethod
    def from_extradata(cls, extradata: bytes | None) -> "H264Headers":
        headers = cls()
        if not extradata or len(extradata) < 7 or extradata[0] != 1:
            return headers                       # Annex B: parameter sets come in-band
        headers.length_size = (extradata[4] & 3) + 1
        pos = 5
        try:
            for count_mask in (0x1F, 0xFF):      # SPS count (5 bits), then PPS count
                count = extradata[pos] & count_mask
                pos += 1
                for _ in range(count):
                    size = int.from_bytes(extradata[pos:pos + 2], "big")
                    headers._remember(extradata[pos + 2:pos + 2 + size])
                    pos += 2 + size
        except IndexError:
            pass
        return headers

    def _remember(self, nal: bytes) -> None:
        if not nal:
            return
        try:
            if nal[0] & 0x1F == SPS_NAL:
                key, sps = parse_sps(nal)
                self.sps[key] = sps
            elif nal[0] & 0x1F == PPS_NAL:
                key, pps = parse_pps(nal)
                self.pps[key] = pps
        except (Unparsable, IndexError):
            pass                                 # slices that use it will be unparsable

    def slices(self, packet) -> list[Slice] | None:
        """The packet's slices (parameter sets in it are remembered first); None when any is not understood."""
        out = []
        for nal in split_nals(packet, self.length_size, head=SLICE_HEADER_BYTES):
            kind = nal[0] & 0x1F
            if kind in (SPS_NAL, PPS_NAL):
                self._remember(nal)
            elif kind in SLICE_NAL_TYPES:
                try:
                    out.append(self._slice(nal))
                except (Unparsable, KeyError, IndexError):
                    return None
        return out or None

    def _slice(self, nal: bytes) -> Slice:
        bits = _Bits(_rbsp(nal))
        idr = nal[0] & 0x1F == 5
        bits.ue()                                # first_mb_in_slice
        slice_type = bits.ue() % 5
        pps = self.pps[bits.ue()]
        sps = self.sps[pps.sps_id]
        if sps.separate_colour_plane:
            bits.u(2)
        frame_num = bits.u(sps.log2_max_frame_num)
        if not sps.frame_mbs_only and bits.u(1):
            raise Unparsable("field picture")
        if idr:
            bits.ue()                            # idr_pic_id
        if sps.poc_type == 0:
            bits.u(sps.log2_max_poc_lsb)
            if pps.bottom_field_pic_order_in_frame_present:
                bits.se()
        elif sps.poc_type == 1 and not sps.delta_pic_order_always_zero:
            bits.se()
            if pps.bottom_field_pic_order_in_frame_present:
                bits.se()
        if pps.redundant_pic_cnt_present:
            bits.ue()
        reference = bool(nal[0] & 0x60)
        l0 = l1 = 0
        changes: list[tuple[int, int]] = []
        if slice_type != I and slice_type != SI:
            if slice_type == B:
                bits.u(1)                        # direct_spatial_mv_pred
            l0, l1 = pps.num_ref_idx_l0_default, pps.num_ref_idx_l1_default if slice_type == B else 0
            if bits.u(1):                        # num_ref_idx_active_override
                l0 = bits.ue() + 1
                if slice_type == B:
                    l1 = bits.ue() + 1
            changes = _list_changes(bits)
            if slice_type == B:
                _list_changes(bits)              # list 1
        if (pps.weighted_pred and slice_type in (P, SP)) or (pps.weighted_bipred_idc == 1 and slice_type == B):
            _skip_pred_weight_table(bits, sps.chroma_format_idc, l0, l1)
        unmarked: tuple[int, ...] | None = None
        if reference:
            if idr:
                bits.u(1)                        # no_output_of_prior_pics
                if bits.u(1):
                    raise Unparsable("long-term reference")
            elif bits.u(1):                      # adaptive_ref_pic_marking_mode
                unmarked = _unmarked_short_term(bits)
        return Slice(slice_type, frame_num, 1 << sps.log2_max_frame_num, idr, reference, l0, tuple(changes),
                     unmarked, sps.max_num_ref_frames)


def _unmarked_short_term(bits: _Bits) -> tuple[int, ...]:
    """Memory management operations: only "this short-term picture is no longer a reference" (1) is followed."""
    differences = []
    while (operation := bits.ue()) != 0:
        if operation != 1:
            raise Unparsable("long-term reference marking")
        differences.append(bits.ue() + 1)        # difference_of_pic_nums_minus1 + 1
    return tuple(differences)


def _list_changes(bits: _Bits) -> list[tuple[int, int]]:
    changes = []
    if bits.u(1):                                # ref_pic_list_modification_flag
        while (idc := bits.ue()) != 3:
            if idc > 5:
                raise Unparsable("bad list modification")
            changes.append((idc, bits.ue()))
    return changes


def _skip_pred_weight_table(bits: _Bits, chroma_format_idc: int, l0: int, l1: int) -> None:
    bits.ue()                                    # luma_log2_weight_denom
    if chroma_format_idc:
        bits.ue()
    for count in (l0, l1):
        for _ in range(count):
            if bits.u(1):
                bits.se(), bits.se()
            if chroma_format_idc and bits.u(1):
                bits.se(), bits.se(), bits.se(), bits.se()


def p_slices_skip_b(pictures: list[list[Slice] | None]) -> bool:
    """Whether the I- and P-pictures of this GOP decode the same with its B-pictures left out.

    ``pictures``: each packet's slices in decode order, the GOP's IDR keyframe first. True only when the
    reference pictures are short-term (the sliding window, or memory management that unmarks short-term
    pictures; no long-term references, no gaps in frame_num) and every P-slice's active list 0 holds only I- and P-pictures:
    first the pictures its list modifications name, then the default order (the most recent reference
    pictures first) without those.
    """
    if not pictures or not pictures[0] or not all(s.idr for s in pictures[0]):
        return False
    window: list[tuple[int, bool]] = []          # reference pictures in decode order: (frame_num, has B-slices)
    previous_reference: int | None = None        # frame_num of the last reference picture (PrevRefFrameNum)
    for slices in pictures:
        if not slices or len({(s.frame_num, s.reference, s.idr) for s in slices}) > 1:
            return False                         # unknown, or slices of one picture that disagree
        if any(s.slice_type in (SP, SI) for s in slices):
            return False
        has_b = any(s.slice_type == B for s in slices)
        if not has_b and not all(_list0_holds_i_and_p_only(s, window) for s in slices if s.slice_type == P):
            return False
        first = slices[0]
        if first.reference:
            if previous_reference is not None and first.frame_num != (previous_reference + 1) % first.max_frame_num:
                return False                     # a gap in frame_num
            previous_reference = first.frame_num
            if first.unmarked is None:           # sliding window: the oldest goes when the window is full
                del window[:len(window) + 1 - max(1, first.max_num_ref_frames)]
            else:
                gone = {(first.frame_num - d) % first.max_frame_num for d in first.unmarked}
                window = [entry for entry in window if entry[0] not in gone]
            window.append((first.frame_num, has_b))
    return True


def _list0_holds_i_and_p_only(s: Slice, window: list[tuple[int, bool]]) -> bool:
    named = []
    predicted = s.frame_num                      # CurrPicNum of a frame (8.2.4.3.1)
    for idc, value in s.l0_changes[:s.num_ref_idx_l0]:
        if idc not in (0, 1):
            return False                         # long-term references: not followed
        predicted = (predicted - (value + 1) if idc == 0 else predicted + value + 1) % s.max_frame_num
        named.append(predicted)                  # picNumLXNoWrap: the frame_num of the picture it names
    default = [frame_num for frame_num, _ in reversed(window) if frame_num not in named]
    has_b = dict(window)
    return all(has_b.get(frame_num) is False for frame_num in (named + default)[:s.num_ref_idx_l0])
