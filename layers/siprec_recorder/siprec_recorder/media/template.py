"""Decoder fast path, fragment level: KVS fragments of one stream share one byte layout.

Every fragment Chime/KVS writes for a stream has the same elements with the same size fields:
only tag values, the cluster timecode, block timecodes and the audio bytes change. The first
fragment that fits a narrow grammar (EBML header; unknown-size Segment; Tags/Info/Tracks/Void;
one Cluster holding a Timecode and a run of identical-layout SimpleBlocks; Tags after it) becomes a
template: its bytes minus those variable regions. A later fragment whose fixed bytes are identical
(checked with a few slice comparisons) has, by construction, exactly the same parse, so its events
are produced from the template plus the variable regions. Any difference falls back to the
general reader for that fragment (and a new template is tried).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from siprec_recorder.errors import MediaError
from siprec_recorder.media import ebml as e
from siprec_recorder.media import units
from siprec_recorder.media.events import FragmentTags, FrameRun, MkvEvent, TrackEntry

if TYPE_CHECKING:
    from siprec_recorder.media.mkv import MkvReader, _TrackTiming

MAGIC = bytes.fromhex("1A45DFA3")
MAX_TEMPLATE = 4 << 20
WAIT = -1
PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"
ERROR_NAMES = ("AWS_KINESISVIDEO_ERROR_CODE", "AWS_KINESISVIDEO_ERROR_ID")
_SKIPPED = (e.VOID, e.CRC32, e.SEEK_HEAD, e.CUES)


@dataclass
class _Run:
    start: int  # first block element, relative to the fragment
    count: int
    stride: int
    head: int  # element header length (id + size field)
    track: int
    columns: list[tuple[int, bytes]]  # header byte offsets (not the timecode) and their columns
    tc_hi: bytes
    tc_lo: bytes
    ticks: npt.NDArray[np.int64]  # block timecodes of the template
    step: int | None  # their constant difference, if they are evenly spaced
    frame_size: int
    duration_ns: int


@dataclass
class Template:
    length: int
    fixed: list[tuple[int, int, bytes]]
    steps: list[tuple[str, bool, list[tuple[str, int, int]]]]  # (kind, after_cluster, tag items)
    timecode: tuple[int, int]
    run: _Run
    scale: int
    tracks_body: bytes
    entries: list[TrackEntry]
    timings: dict[int, _TrackTiming]
    cluster_open: bool  # an unknown-size Cluster is still open at the end of the fragment
    check_idx: npt.NDArray[np.intp]  # every fixed byte, block headers included (not timecodes)
    check_ref: npt.NDArray[np.uint8]
    tc_idx: npt.NDArray[np.intp]  # block timecode bytes (high, low per block)
    tc_ref: npt.NDArray[np.uint8]


def _header(buf: bytearray, p: int, n: int) -> tuple[int, int, int] | None:
    got = e.read_id(buf, p, n)
    if got is None:
        return None
    got2 = e.read_size(buf, p + got[1], n)
    if got2 is None:
        return None
    return got[0], got[1] + got2[1], got2[0]


def _tag_items(buf: bytearray, a: int, b: int, base: int) -> list[tuple[str, int, int]] | None:
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


def build(reader: MkvReader, buf: bytearray, pos: int, n: int) -> Template | None:
    """A template from the fragment at buf[pos:], or None if it is incomplete or irregular."""
    from siprec_recorder.media.mkv import _TrackTiming

    try:
        h = _header(buf, pos, n)
        if h is None or h[0] != e.EBML or h[2] == e.UNKNOWN or pos + h[1] + h[2] > n:
            return None
        units.parse_ebml_header(buf[pos + h[1] : pos + h[1] + h[2]])
        p = pos + h[1] + h[2]
        h = _header(buf, p, n)
        if h is None or h[0] != e.SEGMENT or h[2] != e.UNKNOWN:
            return None
        p += h[1]
        variable: list[tuple[int, int]] = []
        steps: list[tuple[str, bool, list[tuple[str, int, int]]]] = []
        scale = 1_000_000
        tracks: tuple[bytes, list[TrackEntry]] | None = None
        run: _Run | None = None
        timecode = (0, 0)
        cluster_open = False
        while True:
            if p + 4 <= n and buf[p : p + 4] == MAGIC:
                break
            h = _header(buf, p, n)
            if h is None or p - pos > MAX_TEMPLATE:
                return None
            eid, hl, size = h
            if eid == e.CLUSTER:
                if run is not None or tracks is None:
                    return None
                got = _cluster(buf, p, hl, size, n, pos, tracks[1])
                if got is None:
                    return None
                run, timecode, crc, p, cluster_open = got
                entry = next(t for t in tracks[1] if t.number == run.track)
                fmt = _TrackTiming(entry).fmt
                run.duration_ns = (
                    fmt.duration_ns(run.frame_size) if fmt else entry.default_duration_ns or 0
                )
                variable += [timecode, (run.start, run.start + run.count * run.stride), *crc]
                steps.append(("run", True, []))
                continue
            if size == e.UNKNOWN or p + hl + size > n:
                return None
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
                tracks = (bytes(body), units.parse_tracks(body))
                steps.append(("tracks", False, []))
            elif eid not in _SKIPPED:
                return None
            p += hl + size
    except MediaError:
        return None  # the general reader will report it
    if run is None or tracks is None:
        return None
    length = p - pos
    fixed = []
    at = 0
    for a, b in sorted(variable):
        if a > at:
            fixed.append((at, a, bytes(buf[pos + at : pos + a])))
        at = b
    if at < length:
        fixed.append((at, length, bytes(buf[pos + at : pos + length])))
    timings = {t.number: _TrackTiming(t) for t in tracks[1]}
    ref = np.frombuffer(bytes(buf[pos : pos + length]), np.uint8)
    fixed_idx = [np.arange(a, b, dtype=np.intp) for a, b, _ in fixed]
    block_starts = run.start + run.stride * np.arange(run.count, dtype=np.intp)
    fixed_idx.append(
        (block_starts[:, None] + np.array([c - run.start for c, _ in run.columns])).ravel()
    )
    check_idx = np.concatenate(fixed_idx)
    tc_idx = (block_starts[:, None] + np.array([run.head + 1, run.head + 2])).ravel()
    return Template(
        length,
        fixed,
        steps,
        timecode,
        run,
        scale,
        tracks[0],
        tracks[1],
        timings,
        cluster_open,
        check_idx,
        ref[check_idx],
        tc_idx,
        ref[tc_idx],
    )


def _cluster(
    buf: bytearray, p: int, hl: int, size: int, n: int, pos: int, entries: list[TrackEntry]
) -> tuple[_Run, tuple[int, int], list[tuple[int, int]], int, bool] | None:
    """Timecode then a run of identical-layout SimpleBlocks, and nothing else, in one Cluster."""
    end = None if size == e.UNKNOWN else p + hl + size
    q = p + hl
    h = _header(buf, q, n)
    crc: list[tuple[int, int]] = []
    if h is not None and h[0] == e.CRC32 and h[2] == 4:  # its value differs in every Cluster
        crc.append((q + h[1] - pos, q + h[1] + 4 - pos))
        q += h[1] + 4
        h = _header(buf, q, n)
    if h is None or h[0] != e.TIMECODE or h[2] == e.UNKNOWN or h[2] > 8:
        return None
    timecode = (q + h[1] - pos, q + h[1] + h[2] - pos)
    q += h[1] + h[2]
    h = _header(buf, q, n)
    if h is None or h[0] != e.SIMPLE_BLOCK or h[2] == e.UNKNOWN or h[2] < 4:
        return None
    bhl, bsize = h[1], h[2]
    stride = bhl + bsize
    track_byte, flags = buf[q + bhl], buf[q + bhl + 3]
    if track_byte < 0x80 or flags & 0x06:
        return None
    track = track_byte & 0x7F
    if not any(t.number == track for t in entries):
        return None
    ref = bytes(buf[q : q + bhl + 1])
    start, count = q, 0
    limit = n if end is None else min(n, end)
    while q + stride <= limit and buf[q : q + bhl + 1] == ref and buf[q + bhl + 3] == flags:
        count += 1
        q += stride
    if end is not None and q != end:
        return None
    if end is None:  # an unknown-size Cluster must end at a top-level element
        h = _header(buf, q, n)
        if h is None or h[0] not in (e.EBML, e.TAGS, e.CUES):
            return None
    cols = [c for c in range(bhl + 4) if c not in (bhl + 1, bhl + 2)]
    span = count * stride
    columns = [(start - pos + c, bytes(buf[start + c : start + span : stride])) for c in cols]
    hi = bytes(buf[start + bhl + 1 : start + span : stride])
    lo = bytes(buf[start + bhl + 2 : start + span : stride])
    ticks = _ticks(hi, lo)
    steps = np.diff(ticks)
    step = int(steps[0]) if steps.size and bool((steps == steps[0]).all()) else None
    run = _Run(start - pos, count, stride, bhl, track, columns, hi, lo, ticks, step, bsize - 4, 0)
    return run, timecode, crc, q, end is None and h[0] != e.EBML


def _ticks(hi: bytes, lo: bytes) -> npt.NDArray[np.int64]:
    """Signed 16-bit block timecodes from their high and low byte columns."""
    raw = np.frombuffer(hi, np.uint8).astype(np.int64) << 8 | np.frombuffer(lo, np.uint8)
    return np.where(raw >= 0x8000, raw - 0x10000, raw)


def apply(reader: MkvReader, t: Template, buf: bytearray, pos: int, out: list[MkvEvent]) -> bool:
    """Emit the fragment at buf[pos:] from the template if its fixed bytes match; else False."""
    if buf[pos + t.length : pos + t.length + 4] != MAGIC:
        return False
    r = t.run
    frag = np.frombuffer(buf, np.uint8, count=t.length, offset=pos)
    if not (frag[t.check_idx] == t.check_ref).all():
        return False
    tcs = frag[t.tc_idx]
    regular = bool((tcs == t.tc_ref).all())
    ticks = r.ticks if regular else _ticks(tcs[0::2].tobytes(), tcs[1::2].tobytes())
    span = r.count * r.stride
    payload = frag[r.start : r.start + span].reshape(r.count, r.stride)[:, r.head + 4 :].tobytes()
    del frag, tcs  # release the view of buf before the reader compacts it
    tag_sets: list[dict[str, str]] = []
    producer_ns: int | None = None
    for kind, after, items in t.steps:
        if kind == "tags":
            tags = {name: e.read_string(buf[pos + a : pos + b]) for name, a, b in items}
            if PRODUCER_TIMESTAMP in tags and not after:
                producer_ns = units.parse_kvs_seconds(tags[PRODUCER_TIMESTAMP])
            tag_sets.append(tags)
    tc = int.from_bytes(buf[pos + t.timecode[0] : pos + t.timecode[1]], "big")
    base = producer_ns if producer_ns is not None else tc * t.scale
    if abs(base) + 32768 * t.scale >= 1 << 62:
        return False  # beyond int64: the general path computes these times
    reader._start_fragment(reader._base + pos, out)
    reader._scale = t.scale
    reader._producer_ns = producer_ns
    fragment = reader._fragment
    next_tags = iter(tag_sets)
    for kind, after, _items in t.steps:
        if kind == "tags":
            out.append(FragmentTags(fragment, next(next_tags), after))
        elif kind == "tracks":
            last = reader._last_tracks
            if last is not None and last[0] == t.tracks_body:
                out.extend(last[1])
            else:
                reader._last_tracks = (t.tracks_body, t.entries)
                reader._tracks = t.timings
                out.extend(t.entries)
        else:
            reader._cluster_tc = tc
            reader._first_cluster_tc = tc
            reader._after_cluster = True
            times = np.int64(base) + ticks * np.int64(t.scale)
            step = r.step * t.scale if regular and r.step is not None else None
            out.append(FrameRun(r.track, times, payload, r.frame_size, r.duration_ns, step))
    reader._stack[:] = [(e.SEGMENT, None, 0)]
    if t.cluster_open:
        reader._stack.append((e.CLUSTER, None, 1))
    return True


def take_fragment(
    reader: MkvReader, buf: bytearray, pos: int, n: int, final: bool, out: list[MkvEvent]
) -> int | None:
    """New position after a templated fragment, WAIT for more bytes, or None (general path)."""
    t = reader._template
    if t is not None:
        if pos + t.length + 4 > n:
            return None if final else WAIT
        if apply(reader, t, buf, pos, out):
            return pos + t.length
    if reader._template_backoff > 0:
        reader._template_backoff -= 1
        return None
    t = build(reader, buf, pos, n)
    if t is None:
        reader._template_backoff = 8
        return None
    reader._template = t
    return pos + t.length if apply(reader, t, buf, pos, out) else None
