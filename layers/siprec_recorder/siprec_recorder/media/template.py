"""Decoder fast path, fragment level: KVS fragments of one stream share one byte layout.

Every fragment Chime/KVS writes for a stream has the same elements with the same size fields: only
tag values, the cluster timecode, the number of blocks, block timecodes and the audio change. The
first fragment that fits a narrow grammar (EBML header; unknown-size Segment; Tags/Info/Tracks/
Void; one Cluster holding a Timecode and a run of identical-layout SimpleBlocks; Tags after it)
becomes a template: a prefix (everything before the blocks), the block layout, and a suffix
(everything after them), each minus its variable regions. A later fragment whose fixed bytes are
identical has, by construction, exactly the same parse, so its events come from the template plus
the variable regions, checked and gathered with a few numpy operations. Any difference falls back
to the general reader for that fragment (and a new template is tried).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from siprec_recorder.errors import MediaError
from siprec_recorder.media import ebml as e
from siprec_recorder.media import units
from siprec_recorder.media.events import TrackEntry

if TYPE_CHECKING:
    from siprec_recorder.media.mkv import MkvReader, _TrackTiming

MAX_TEMPLATE = 4 << 20
WAIT = -1
INCOMPLETE = "incomplete"
PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"
ERROR_NAMES = (
    "AWS_KINESISVIDEO_ERROR_CODE",
    "AWS_KINESISVIDEO_ERROR_ID",
    "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE",
)
_SKIPPED = (e.VOID, e.CRC32, e.SEEK_HEAD, e.CUES)
Item = tuple[str, int, int]  # tag name, value start, value end (prefix- or suffix-relative)
Regions = list[tuple[int, int]]


@dataclass
class _Run:
    start: int  # first block, relative to the fragment
    count: int  # blocks in the template (others may have more or fewer)
    stride: int
    head: int  # block element header length (id + size field)
    track: int
    cols: npt.NDArray[np.intp]  # block header bytes that must match (all but the timecode)
    col_ref: npt.NDArray[np.uint8]
    tc_ref: npt.NDArray[np.uint8]  # the template's timecode bytes, (count, 2)
    ticks: npt.NDArray[np.int64]
    step: int | None  # constant difference of the template's ticks
    frame_size: int
    cluster_size: tuple[int, int] | None  # size field of a known-size Cluster (variable)
    cluster_data: int  # where that Cluster's data starts, relative to the fragment


@dataclass
class Template:
    prefix_len: int
    suffix_len: int
    prefix_idx: npt.NDArray[np.intp]  # fixed bytes of the prefix and their values
    prefix_ref: npt.NDArray[np.uint8]
    suffix_idx: npt.NDArray[np.intp]  # fixed bytes of the suffix (suffix-relative)
    suffix_ref: npt.NDArray[np.uint8]
    steps: list[tuple[str, bool, list[Item]]]  # (kind, after_cluster, tag items) in order
    timecode: tuple[int, int]
    run: _Run
    duration_ns: int
    scale: int
    tracks_body: bytes
    entries: list[TrackEntry]
    timings: dict[int, _TrackTiming]


def _header(buf: bytearray, p: int, n: int) -> tuple[int, int, int] | None:
    got = e.read_id(buf, p, n)
    if got is None:
        return None
    got2 = e.read_size(buf, p + got[1], n)
    if got2 is None:
        return None
    return got[0], got[1] + got2[1], got2[0]


def _tag_items(buf: bytearray, a: int, b: int, base: int) -> list[Item] | None:
    """(name, value start, value end) of each SimpleTag, as units.parse_tags reads them."""
    items = []
    for eid, c, d in units.children(buf, a, b):
        if eid != e.TAG:
            continue
        for sid, f, g in units.children(buf, c, d):
            if sid != e.SIMPLE_TAG:
                continue
            name: str | None = None
            value: tuple[int, int] | None = None
            for tid, h, i in units.children(buf, f, g):
                if tid == e.TAG_NAME:
                    name = e.read_string(buf[h:i])
                elif tid == e.TAG_STRING:
                    value = (h - base, i - base)
            if name is not None and value is not None:
                if name in ERROR_NAMES:
                    return None
                items.append((name, *value))
    return items


def _fixed(ref: npt.NDArray[np.uint8], lo: int, hi: int, variable: Regions) -> npt.NDArray[np.intp]:
    """Offsets in [lo, hi) outside the variable regions, relative to lo."""
    keep = np.ones(hi - lo, dtype=bool)
    for a, b in variable:
        keep[max(a, lo) - lo : max(min(b, hi) - lo, 0)] = False
    return np.flatnonzero(keep).astype(np.intp)


def build(reader: MkvReader, buf: bytearray, pos: int, n: int) -> Template | str | None:
    """A template from the fragment at buf[pos:]; INCOMPLETE if it is not all here; None if the
    fragment does not fit the grammar."""
    from siprec_recorder.media.mkv import _TrackTiming

    try:
        h = _header(buf, pos, n)
        if h is None or h[0] != e.EBML or h[2] == e.UNKNOWN:
            return None if h is not None else INCOMPLETE
        if pos + h[1] + h[2] > n:
            return INCOMPLETE
        units.parse_ebml_header(buf[pos + h[1] : pos + h[1] + h[2]])
        p = pos + h[1] + h[2]
        h = _header(buf, p, n)
        if h is None or h[0] != e.SEGMENT or h[2] != e.UNKNOWN:
            return None if h is not None else INCOMPLETE
        p += h[1]
        variable: Regions = []
        steps: list[tuple[str, bool, list[Item]]] = []
        scale = 1_000_000
        tracks: tuple[bytes, list[TrackEntry]] | None = None
        run: _Run | None = None
        timecode = (0, 0)
        while not (p + 4 <= n and buf[p : p + 4] == e.MAGIC):
            if p - pos > MAX_TEMPLATE:
                return None
            h = _header(buf, p, n)
            if h is None:
                return INCOMPLETE
            eid, hl, size = h
            if eid == e.CLUSTER:
                if run is not None or tracks is None:
                    return None
                got = _cluster(buf, p, hl, size, n, pos, tracks[1])
                if not isinstance(got, tuple):
                    return got
                run, timecode, extra, p = got
                variable += [timecode, (run.start, run.start + run.count * run.stride), *extra]
                steps.append(("run", True, []))
                continue
            if size == e.UNKNOWN:
                return None
            if p + hl + size > n:
                return INCOMPLETE
            body = buf[p + hl : p + hl + size]
            if eid == e.TAGS:
                items = _tag_items(buf, p + hl, p + hl + size, pos)
                if items is None:
                    return None
                variable += [(a, b) for _, a, b in items]
                steps.append(("tags", run is not None, items))
            elif eid == e.INFO and run is None:
                scale = units.parse_info(body)
            elif eid == e.TRACKS and run is None:
                if tracks is not None:
                    return None  # a second Tracks: the general path applies both in turn
                tracks = (bytes(body), units.parse_tracks(body))
                steps.append(("tracks", False, []))
            elif eid not in _SKIPPED:
                return None
            p += hl + size
    except MediaError:
        return None  # the general reader will report it
    if run is None or tracks is None:
        return None
    entry = next(t for t in tracks[1] if t.number == run.track)
    timing = _TrackTiming(entry)
    fmt = timing.fmt
    duration = fmt.duration_ns(run.frame_size) if fmt else entry.default_duration_ns or 0
    run_end = run.start + run.count * run.stride
    ref = np.frombuffer(bytes(buf[pos:p]), np.uint8)
    prefix_idx = _fixed(ref, 0, run.start, variable)
    suffix_idx = _fixed(ref, run_end, p - pos, variable)
    for name_steps in steps:  # suffix tag values become suffix-relative
        if name_steps[1] and name_steps[0] == "tags":
            name_steps[2][:] = [(nm, a - run_end, b - run_end) for nm, a, b in name_steps[2]]
    return Template(
        prefix_len=run.start,
        suffix_len=p - pos - run_end,
        prefix_idx=prefix_idx,
        prefix_ref=ref[prefix_idx],
        suffix_idx=suffix_idx,
        suffix_ref=ref[run_end + suffix_idx],
        steps=steps,
        timecode=timecode,
        run=run,
        duration_ns=duration,
        scale=scale,
        tracks_body=tracks[0],
        entries=tracks[1],
        timings={t.number: _TrackTiming(t) for t in tracks[1]},
    )


def _cluster(
    buf: bytearray, p: int, hl: int, size: int, n: int, pos: int, entries: list[TrackEntry]
) -> tuple[_Run, tuple[int, int], Regions, int] | str | None:
    """Timecode then a run of identical-layout SimpleBlocks, and nothing else, in one Cluster."""
    end = None if size == e.UNKNOWN else p + hl + size
    extra: Regions = []
    if end is not None:  # its size follows the number of blocks
        id_len = e.read_id(buf, p, n)
        assert id_len is not None
        extra.append((p + id_len[1] - pos, p + hl - pos))
    q = p + hl
    h = _header(buf, q, n)
    if h is not None and h[0] == e.CRC32 and h[2] == 4:  # its value differs in every Cluster
        extra.append((q + h[1] - pos, q + h[1] + 4 - pos))
        q += h[1] + 4
        h = _header(buf, q, n)
    if h is None or q + h[1] + max(h[2], 0) > n:
        return INCOMPLETE
    if h[0] != e.TIMECODE or h[2] == e.UNKNOWN or h[2] > 8:
        return None
    timecode = (q + h[1] - pos, q + h[1] + h[2] - pos)
    q += h[1] + h[2]
    h = _header(buf, q, n)
    if h is None:
        return INCOMPLETE
    if h[0] != e.SIMPLE_BLOCK or h[2] == e.UNKNOWN or h[2] < 4:
        return None
    bhl, bsize = h[1], h[2]
    stride = bhl + bsize
    if q + bhl + 4 > n:
        return INCOMPLETE
    track_byte, flags = buf[q + bhl], buf[q + bhl + 3]
    if track_byte < 0x80 or flags & 0x06 or not any(t.number == track_byte & 0x7F for t in entries):
        return None
    first = bytes(buf[q : q + bhl + 4])
    start, count = q, 0
    limit = n if end is None else min(n, end)
    while (
        q + stride <= limit
        and buf[q : q + bhl + 1] == first[: bhl + 1]
        and buf[q + bhl + 3] == flags
    ):
        count += 1
        q += stride
    if end is not None and q != end:
        return INCOMPLETE if end > n else None
    if end is None and q + stride > n and (q >= n or buf[q] == e.SIMPLE_BLOCK):
        return INCOMPLETE  # the run may go on past the buffer
    h = _header(buf, q, n)  # the Cluster must end here, at a top-level element
    if h is None:
        return INCOMPLETE
    if h[0] not in (e.EBML, e.TAGS, e.CUES):
        return None
    cols = np.array([c for c in range(bhl + 4) if c not in (bhl + 1, bhl + 2)], dtype=np.intp)
    rows = np.frombuffer(bytes(buf[start:q]), np.uint8).reshape(count, stride)
    tc_ref = rows[:, bhl + 1 : bhl + 3].copy()
    ticks = block_ticks(tc_ref)
    steps = np.diff(ticks)
    step = int(steps[0]) if steps.size and bool((steps == steps[0]).all()) else None
    cluster_size = extra[0] if end is not None else None
    run = _Run(
        start=start - pos,
        count=count,
        stride=stride,
        head=bhl,
        track=track_byte & 0x7F,
        cols=cols,
        col_ref=np.frombuffer(first, np.uint8)[cols],
        tc_ref=tc_ref,
        ticks=ticks,
        step=step,
        frame_size=bsize - 4,
        cluster_size=cluster_size,
        cluster_data=p + hl - pos,
    )
    return run, timecode, extra, q


def block_ticks(tc: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Signed 16-bit block timecodes from their (count, 2) big-endian bytes."""
    raw = tc[:, 0].astype(np.int64) << 8 | tc[:, 1]
    return np.where(raw >= 0x8000, raw - 0x10000, raw)
