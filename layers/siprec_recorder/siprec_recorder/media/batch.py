"""Decoder fast path, many fragments at once: the fragments that follow a templated one.

Once a fragment matched the template (`template.apply`), the next ones usually have the same
number of blocks, hence the same length L. The bytes after it are then viewed as an (m, L) array,
one row per fragment, and checked with a handful of numpy operations for the whole chunk: every
fixed byte of the template (block headers and block timecodes included), the size of a sized
Cluster, an EBML header right after each fragment, and tag values that parse the same way the
general path would. Rows up to the first that differs become one FragmentBatch event; the rest
go back to the per-fragment template (and from there to the general reader).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from siprec_recorder.media import ebml as e
from siprec_recorder.media.events import FragmentBatch, FragmentEnded, MkvEvent, TagValue

if TYPE_CHECKING:
    from siprec_recorder.media.mkv import MkvReader
    from siprec_recorder.media.template import Template

MAGIC = bytes.fromhex("1A45DFA3")
PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"
MIN_BATCH = 2
_LIMIT = 1 << 62
_MAX_WHOLE_SECONDS = 4_000_000_000  # keeps producer times far inside int64


@dataclass
class Spec:
    """What a template's fragments of exactly `template.run.count` blocks look like."""

    template: Template
    length: int  # bytes of one fragment
    fixed: npt.NDArray[np.intp]  # fragment-relative offsets of the fixed bytes...
    ref: npt.NDArray[np.uint8]  # ...and their values
    items: list[list[tuple[str, int, int]]]  # per step: (tag name, start, end), fragment-relative
    producer: tuple[int, int] | None  # value region of the producer timestamp before the Cluster
    timecode: tuple[int, int]
    payload: tuple[int, int]  # first and last+1 byte of the blocks


def spec(t: Template) -> Spec:
    """The batch layout of a template (computed once per template)."""
    r = t.run
    run_end = r.start + r.count * r.stride
    head = np.empty((r.count, r.head + 4), dtype=np.uint8)
    head[:, r.cols] = r.col_ref
    head[:, r.head + 1 : r.head + 3] = r.tc_ref
    block_idx = (
        r.start + np.arange(r.count, dtype=np.intp)[:, None] * r.stride + np.arange(r.head + 4)
    )
    fixed = np.concatenate([t.prefix_idx, block_idx.reshape(-1), run_end + t.suffix_idx])
    ref = np.concatenate([t.prefix_ref, head.reshape(-1), t.suffix_ref])
    items: list[list[tuple[str, int, int]]] = []
    producer = None
    for kind, after, its in t.steps:
        base = run_end if after else 0
        items.append([(name, base + a, base + b) for name, a, b in its] if kind == "tags" else [])
        if kind == "tags" and not after:
            for name, a, b in its:
                if name == PRODUCER_TIMESTAMP:
                    producer = (a, b)  # the last one wins, as in the general path
    return Spec(
        template=t,
        length=run_end + t.suffix_len,
        fixed=fixed.astype(np.intp),
        ref=ref.astype(np.uint8),
        items=items,
        producer=producer,
        timecode=t.timecode,
        payload=(r.start, run_end),
    )


def _uint(cols: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """Big-endian unsigned integers from (m, width <= 8) bytes."""
    out = np.zeros(cols.shape[0], dtype=np.uint64)
    for i in range(cols.shape[1]):
        out = (out << np.uint64(8)) | cols[:, i].astype(np.uint64)
    return out


def _seconds(cols: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64] | None:
    """KVS decimal seconds ("1511852108.513") as ns, when every row is plain digits with the dot
    in the same column (anything else: None, and the per-fragment path decides)."""
    dots = np.flatnonzero(cols[0] == ord("."))
    d = int(dots[0]) if dots.size else cols.shape[1]
    digits = cols.astype(np.int64) - ord("0")
    is_digit = (digits >= 0) & (digits <= 9)
    if dots.size:
        if not bool((cols[:, d] == ord(".")).all()):
            return None
        is_digit[:, d] = True
    if not bool(is_digit.all()) or not 1 <= d <= 12 or cols.shape[1] - d - 1 > 9:
        return None
    whole = digits[:, :d] @ (10 ** np.arange(d - 1, -1, -1, dtype=np.int64))
    if int(whole.max()) >= _MAX_WHOLE_SECONDS:
        return None
    frac = digits[:, d + 1 :]
    ns: npt.NDArray[np.int64] = whole * np.int64(1_000_000_000)
    if frac.shape[1]:
        ns = ns + frac @ (10 ** np.arange(8, 8 - frac.shape[1], -1, dtype=np.int64))
    return ns


Scan = tuple[
    int,
    list[tuple[str, bool, list[tuple[str, TagValue]]]],
    npt.NDArray[np.uint64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    tuple[bytes, bytes],
]


def _scan(t: Template, s: Spec, buf: bytearray, pos: int, n: int, m: int) -> Scan | None:
    """(fragments, tag steps, cluster timecodes, first times, times, payloads) of the leading
    fragments that fit, or None. Every view of buf dies with this call (the reader compacts buf).
    """
    L, r = s.length, t.run
    frags = np.frombuffer(buf, np.uint8, count=m * L, offset=pos).reshape(m, L)
    ok = (frags[:, s.fixed] == s.ref).all(axis=1)
    if buf[pos + m * L : pos + m * L + 4] != MAGIC:  # a fragment must follow the last one
        ok[-1] = False
    if r.cluster_size is not None:
        a, b = r.cluster_size
        got = e.read_size(buf, pos + a, n)
        if got is None or got[1] != b - a or got[0] != s.payload[1] - r.cluster_data:
            return None
        ok &= (frags[:, a:b] == frags[0, a:b]).all(axis=1)
    k = m if bool(ok.all()) else int(np.argmin(ok))
    if k < MIN_BATCH:
        return None
    frags = frags[:k]
    steps: list[tuple[str, bool, list[tuple[str, TagValue]]]] = []
    for (kind, after_cluster, _), its in zip(t.steps, s.items, strict=True):
        values: list[tuple[str, TagValue]] = []
        for name, a, b in its:
            cols = frags[:, a:b]
            if bool((cols == cols[0]).all()):
                values.append((name, e.read_string(cols[0].tobytes())))
            else:
                values.append((name, cols.copy()))
        steps.append((kind, after_cluster, values))
    a, b = s.timecode
    tc = _uint(frags[:, a:b])
    if s.producer is not None:
        first = _seconds(frags[:, s.producer[0] : s.producer[1]])
        if first is None:
            return None
        first_max = int(first.max())
    else:
        tc_max = int(tc.max())
        if tc_max >= _LIMIT // t.scale:
            return None
        first = tc.astype(np.int64) * np.int64(t.scale)
        first_max = tc_max * t.scale
    if first_max + 32768 * t.scale >= _LIMIT:
        return None
    times = first[:, None] + r.ticks[None, :] * np.int64(t.scale)
    blocks = frags[:, s.payload[0] : s.payload[1]].reshape(k, r.count, r.stride)
    audio = blocks[:, :, r.head + 4 :]
    return k, steps, tc, first, times, (audio[0].tobytes(), audio[1:].tobytes())


def take(reader: MkvReader, s: Spec, buf: bytearray, pos: int, n: int, out: list[MkvEvent]) -> int:
    """Position after the fragments at buf[pos:] taken as one batch (pos if none)."""
    t, L = s.template, s.length
    m = (n - pos - 4) // L
    if m < MIN_BATCH:
        return pos
    for j in range(1, MIN_BATCH + 1):  # cheap test first: most irregular fragments fail here
        if buf[pos + j * L : pos + j * L + 4] != MAGIC:
            return pos
    if _scan(t, s, buf, pos, n, MIN_BATCH) is None:
        return pos  # the first fragments differ: no need to look at the whole buffer
    got = _scan(t, s, buf, pos, n, m)
    if got is None:
        return pos
    k, steps, tc, first, times, payloads = got
    r = t.run
    base = reader._base
    starts = [base + pos + j * L for j in range(k + 1)]
    prev = None
    if reader._fragment >= 0:
        prev = FragmentEnded(reader._fragment, reader._fragment_start, starts[0])
    last_tracks = reader._last_tracks
    entries = last_tracks[1] if last_tracks is not None else t.entries
    out.append(
        FragmentBatch(
            first_index=reader._fragment + 1,
            starts=starts,
            prev=prev,
            steps=steps,
            entries=entries,
            track=r.track,
            times_ns=times,
            payloads=payloads,
            frame_size=r.frame_size,
            duration_ns=t.duration_ns,
            step_ns=r.step * t.scale if r.step is not None else None,
        )
    )
    last_tc = int(tc[k - 1])
    reader._fragment += k
    reader._fragment_start = starts[k - 1]
    reader._scale = t.scale
    reader._producer_ns = int(first[k - 1]) if s.producer is not None else None
    reader._cluster_tc = last_tc
    reader._first_cluster_tc = last_tc
    reader._after_cluster = True
    reader._stack[:] = [(e.SEGMENT, None, 0)]
    return pos + k * L
