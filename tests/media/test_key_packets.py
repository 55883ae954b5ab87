"""KeyPackets: in keyframes-only decoding, which packets reach the decoder."""
from __future__ import annotations

from engine.media.decode import KeyPackets


def test_only_flagged_keyframes_pass():
    keys = KeyPackets(give_up_after=10)
    flags = [True] + [False] * 9 + [True] + [False] * 9
    assert [keys.wants(f) for f in flags] == flags
    assert not keys.gave_up


def test_when_the_flags_stop_every_packet_passes_from_then_on():
    keys = KeyPackets(give_up_after=5)
    passed = [keys.wants(f) for f in [True] + [False] * 8]
    assert passed == [True] + [False] * 5 + [True] * 3
    assert keys.gave_up
    assert keys.wants(False) and keys.wants(True) and keys.wants(False)
