"""Open an hnswlib index file (``save_index``'s format) faster than ``load_index``.

hnswlib's own loader reads the file twice through a C++ stream, the first time to check it with a
seek per element, holding the GIL throughout. This maps the file and hands its parts to hnswlib's
pickle restore, which copies them in one piece: a million 512-d vectors open in 2.6-4.7 s instead of
6.7-6.9 s in the same runs (benchmarks/RESULTS.md, search latency). That restore cannot re-create an index that reuses deleted slots, so it serves only
files without deleted elements; anything else, or anything unexpected in the file, goes to
``load_index``, which also reports a damaged file.

Format (hnswalg.h saveIndex, hnswlib 0.7-0.8): a header of 13 fields, then ``cur_element_count``
level-0 records of ``size_data_per_element`` bytes (link count, deleted flag, links, vector, label),
then per element a uint32 byte count and that many bytes of upper-level links.
"""
from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

import hnswlib
import numpy as np

HEADER = struct.Struct("<6QiI3QdQ")   # offsetLevel0 .. ef_construction, as saveIndex writes them
LINK_COUNT = struct.Struct("<I")
DELETED_MARK = 0x01                    # bit of the byte after a level-0 record's link count
LEVEL_GENERATOR_SEED = 100             # hnswlib's default, so later inserts draw levels as usual
PICKLE_VERSION = 1


class NotFast(Exception):
    """The file is not one this loader takes; use hnswlib's load_index."""


def load(path: Path, space: str, dim: int) -> tuple[hnswlib.Index, bool]:
    """(index, reuses_deleted_slots). The second is False for an index opened the fast way: add to it
    with ``replace_deleted=False``; the next open of a file with deletions goes through load_index."""
    try:
        return _load_mapped(Path(path), space, dim), False
    except NotFast:
        index = hnswlib.Index(space=space, dim=dim)
        index.load_index(str(path), max_elements=0, allow_replace_deleted=True)
        return index, True


def _load_mapped(path: Path, space: str, dim: int) -> hnswlib.Index:
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < HEADER.size:
            raise NotFast
        # MAP_POPULATE maps every page up front in one call (without the GIL), not one fault per page.
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        mapped = mmap.mmap(fh.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
    try:
        index = _restore(mapped, size, space, dim)
    finally:
        try:
            mapped.close()
        except BufferError:  # an array on the map is still referenced; the map closes with it
            pass
    if index is None:
        raise NotFast
    return index


def _restore(mapped: mmap.mmap, size: int, space: str, dim: int) -> hnswlib.Index | None:
    with memoryview(mapped) as buf:
        try:
            state = _state(buf, size, space, dim)
        except NotFast:
            return None  # (returning here, not raising, lets the views of the frames go first)
        try:
            index = hnswlib.Index.__new__(hnswlib.Index)
            index.__setstate__((state,))
        except (RuntimeError, ValueError, TypeError, KeyError):
            return None  # another hnswlib's pickle format: its own load_index knows its files
        finally:
            state.clear()
    return index


def whole(path: Path) -> bool:
    """Whether the file is as long as its header and its link counts say. ``save_index`` reports no write
    error: on a full disk it leaves a short (often empty) file and returns as if it had written it all."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < HEADER.size:
            return False
        fh.seek(0)
        header = HEADER.unpack(fh.read(HEADER.size))
        count, per_element = header[2], header[3]
        pos = HEADER.size + count * per_element
        if pos >= size:
            return pos == size and count == 0
        mapped = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ)
    try:
        for _ in range(count):           # a uint32 byte count, then that many bytes of upper-level links
            if pos + LINK_COUNT.size > size:
                return False
            pos += LINK_COUNT.size + LINK_COUNT.unpack_from(mapped, pos)[0]
        return pos == size
    finally:
        mapped.close()


def _state(buf: memoryview, size: int, space: str, dim: int) -> dict:
    (offset_level0, max_elements, count, per_element, label_offset, offset_data, max_level, entry_point,
     max_m, max_m0, m, mult, ef_construction) = HEADER.unpack_from(buf, 0)
    links_per_element = max_m * 4 + 4
    level0_bytes = count * per_element
    if (offset_level0 != 0 or count == 0 or count > max_elements or offset_data != max_m0 * 4 + 4
            or not 0 <= entry_point < count or max_level < 0
            or label_offset != offset_data + dim * 4 or per_element != label_offset + 8
            or HEADER.size + level0_bytes > size or (size - HEADER.size - level0_bytes) % 4):
        raise NotFast
    level0 = np.frombuffer(buf, dtype=np.int8, count=level0_bytes, offset=HEADER.size)
    records = np.frombuffer(buf, dtype=np.uint8, count=level0_bytes, offset=HEADER.size).reshape(count, per_element)
    if (records[:, 2] & DELETED_MARK).any():
        raise NotFast
    labels = records[:, label_offset:label_offset + 8].copy().view("<u8").reshape(count)
    levels, link_lists = _upper_levels(buf[HEADER.size + level0_bytes:size], count, links_per_element)
    if levels.max() > max_level:
        raise NotFast
    element_levels = np.zeros(max_elements, np.int32)
    element_levels[:count] = levels
    return {
        "ser_version": PICKLE_VERSION, "space": space, "dim": dim, "index_inited": True, "ep_added": True,
        "normalize": space == "cosine", "num_threads": os.cpu_count() or 1, "seed": LEVEL_GENERATOR_SEED,
        "offset_level0": offset_level0, "max_elements": max_elements, "cur_element_count": count,
        "size_data_per_element": per_element, "label_offset": label_offset, "offset_data": offset_data,
        "max_level": max_level, "enterpoint_node": entry_point, "max_M": max_m, "max_M0": max_m0, "M": m,
        "mult": mult, "ef_construction": ef_construction, "ef": 10, "has_deletions": False,
        "size_links_per_element": links_per_element,
        "label_lookup_external": labels, "label_lookup_internal": np.arange(count, dtype=np.uint32),
        "element_levels": element_levels, "data_level0": level0, "link_lists": link_lists,
    }


def _upper_levels(section: memoryview, count: int, links_per_element: int) -> tuple[np.ndarray, np.ndarray]:
    """Levels [count] and the upper-level link bytes of all elements, concatenated in element order."""
    words = section.cast("I")
    n_words = len(words)
    starts, lengths = [], []
    pos = 0
    for i in range(count):               # most elements (1 - 1/M) have no upper level: one word each
        if pos >= n_words:
            raise NotFast
        byte_count = words[pos]
        if byte_count:
            if byte_count % links_per_element:
                raise NotFast
            starts.append(i)
            lengths.append(byte_count // 4)
            pos += 1 + byte_count // 4
        else:
            pos += 1
    if pos != n_words:
        raise NotFast
    levels = np.zeros(count, np.int32)
    if not starts:
        return levels, np.zeros(0, np.int8)
    lengths_arr = np.asarray(lengths, np.int64)
    levels[np.asarray(starts)] = (lengths_arr * 4 // links_per_element).astype(np.int32)
    # Word positions of every payload: each record's payload follows its count word.
    record_words = np.ones(count, np.int64)
    record_words[np.asarray(starts)] += lengths_arr
    first_payload = np.cumsum(record_words)[np.asarray(starts)] - lengths_arr
    payload = np.repeat(first_payload - np.cumsum(np.concatenate(([0], lengths_arr[:-1]))), lengths_arr) \
        + np.arange(int(lengths_arr.sum()))
    all_words = np.frombuffer(section, dtype="<u4", count=n_words)
    return levels, all_words[payload].view(np.int8)
