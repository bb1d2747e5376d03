"""Decoder fast path, many fragments at once: the fragments that follow a templated one.

Once a fragment matched the template (`template.apply`), the next ones usually differ from it
only in their variable regions (tag values, timecodes, audio) and in their number of blocks
(Chime writes 99, 100 or 101). Their starts are found with one C-level pass each (the first
byte of every block row, `bytes.lstrip`), then everything is checked for all of them with a
handful of numpy operations: every fixed byte of the template's prefix and suffix, every block
header except its timecode, the size of a sized Cluster, an EBML header right after each
fragment, and tag values that parse the same way the general path would. The fragments up to the
first that differs become one FragmentBatch event; the rest go back to the per-fragment template
(and from there to the general reader).
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

PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"
MIN_BATCH = 2
Bools = npt.NDArray[np.bool_]
_LIMIT = 1 << 62
_MAX_WHOLE_SECONDS = 4_000_000_000  # keeps producer times far inside int64


@dataclass
class Spec:
    """What the fragments of a template look like, whatever their number of blocks."""

    template: Template
    items: list[list[tuple[str, int, bool, int]]]  # per step: (tag, start, after_cluster, width)
    producer: tuple[int, int] | None  # value region of the producer timestamp before the Cluster
    head_cols: npt.NDArray[np.intp]  # block header bytes that must match (all but the timecode)
    head_ref: npt.NDArray[np.uint8]


def spec(t: Template) -> Spec:
    """The batch layout of a template (computed once per template).

    The blocks of a fragment end at the first row whose first byte is not a SimpleBlock id: the
    template's run is followed by an EBML header, Tags or Cues, whose ids start otherwise.
    """
    r = t.run
    items: list[list[tuple[str, int, bool, int]]] = []
    producer = None
    for kind, after, its in t.steps:
        items.append([(name, a, after, b - a) for name, a, b in its] if kind == "tags" else [])
        if kind == "tags" and not after:
            for name, a, b in its:
                if name == PRODUCER_TIMESTAMP:
                    producer = (a, b)  # the last one wins, as in the general path
    return Spec(
        template=t,
        items=items,
        producer=producer,
        head_cols=r.cols.astype(np.intp),
        head_ref=r.col_ref.astype(np.uint8),
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
    list[int],
    list[int],
    list[tuple[str, bool, list[tuple[str, TagValue]]]],
    npt.NDArray[np.uint64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    tuple[bytes, bytes],
]


def _find(t: Template, buf: bytearray, pos: int, n: int, most: int) -> tuple[list[int], list[int]]:
    """Starts and block counts of up to `most` whole fragments from pos, each followed by an EBML
    header: the block count is the number of rows whose first byte is a SimpleBlock id (apply
    reads at most 2 x count + 16 rows, so a longer run is left to it)."""
    r = t.run
    cap = 2 * r.count + 16
    starts: list[int] = []
    counts: list[int] = []
    p = pos
    k = 0
    while len(starts) < most:
        run0 = p + r.start
        if run0 >= n:
            break
        if k:  # most fragments have as many blocks as the one before: test that guess first
            end = run0 + k * r.stride + t.suffix_len
            if (
                end + 4 <= n
                and buf[end : end + 4] == e.MAGIC
                and buf[run0 + (k - 1) * r.stride] == e.SIMPLE_BLOCK
                and buf[run0 + k * r.stride] != e.SIMPLE_BLOCK
                and e.fragment_start_in(buf, run0 + r.head, run0 + r.stride) < 0
            ):  # a row before k-1 that is not a block fails the header check in _scan
                starts.append(p)
                counts.append(k)
                p = end
                continue
        col = buf[run0 : min(n, run0 + cap * r.stride) : r.stride]
        k = len(col) - len(col.lstrip(b"\xa3"))
        if k == 0 or k == len(col):
            break
        end = run0 + k * r.stride + t.suffix_len
        if end + 4 > n or buf[end : end + 4] != e.MAGIC:
            break
        if e.fragment_start_in(buf, run0 + r.head, run0 + r.stride) >= 0:
            break  # the general path's rule for a Cluster's first block (first_block_is_whole)
        starts.append(p)
        counts.append(k)
        p = end
    return starts, counts


def _rows(a: npt.NDArray[np.uint8], at: npt.NDArray[np.intp], width: int) -> npt.NDArray[np.uint8]:
    """(len(at), width) bytes starting at each offset."""
    rows: npt.NDArray[np.uint8] = a[at[:, None] + np.arange(width, dtype=np.intp)]
    return rows


class _Frags:
    """Byte columns of m fragments at given offsets: slices of an (m, length) view when they all
    have the same number of blocks (then they are evenly spaced), else gathered by index."""

    def __init__(
        self, t: Template, a_: npt.NDArray[np.uint8], starts: list[int], counts: list[int]
    ) -> None:
        r = t.run
        self.a_ = a_
        self.S = np.array(starts, dtype=np.intp)
        self.K = np.array(counts, dtype=np.intp)
        self.U = self.S + r.start + self.K * r.stride  # suffix starts
        k = counts[0]
        self.even = all(c == k for c in counts)
        self.view: npt.NDArray[np.uint8] | None = None
        if self.even:
            m, length = len(starts), r.start + k * r.stride + t.suffix_len
            self.view = a_[starts[0] : starts[0] + m * length].reshape(m, length)
            self.suffix = r.start + k * r.stride

    def cols(self, at: int, width: int, after: bool = False) -> npt.NDArray[np.uint8]:
        """(m, width) bytes at `at` from each fragment's start (from its suffix if after)."""
        if self.view is not None:
            a = at + (self.suffix if after else 0)
            return self.view[:, a : a + width]
        return _rows(self.a_, (self.U if after else self.S) + at, width)

    def match(self, idx: npt.NDArray[np.intp], ref: npt.NDArray[np.uint8], after: bool) -> Bools:
        """Per fragment: the bytes at idx (from its start, or its suffix) equal ref."""
        if self.view is not None:
            got = self.view[:, idx + (self.suffix if after else 0)]
        else:
            got = self.a_[(self.U if after else self.S)[:, None] + idx]
        ok: Bools = (got == ref).all(axis=1)
        return ok

    def blocks(self, t: Template, s: Spec) -> tuple[Bools, npt.NDArray[np.uint8]]:
        """Per fragment: every block header matches (timecode aside); every block's timecode."""
        r, K = t.run, self.K
        if self.view is not None:
            m, k = len(K), int(K[0])
            rows = self.view[:, r.start : r.start + k * r.stride].reshape(m, k, r.stride)
            ok: Bools = (rows[:, :, s.head_cols] == s.head_ref).all(axis=(1, 2))
            return ok, rows[:, :, r.head + 1 : r.head + 3]  # (m, k, 2): a view, no copy
        first_block = np.cumsum(K) - K
        total = int(K.sum())
        in_frag = np.arange(total, dtype=np.intp) - np.repeat(first_block, K)
        B = np.repeat(self.S + r.start, K) + in_frag * r.stride  # block starts
        width = r.head + 4
        heads = np.lib.stride_tricks.as_strided(
            self.a_, shape=(self.a_.size - width + 1, width), strides=(1, 1), writeable=False
        )[B]  # every block's header: one row gather (3x faster than an index per byte)
        block_ok = (heads[:, s.head_cols] == s.head_ref).all(axis=1)
        tc = heads[:, r.head + 1 : r.head + 3]
        return np.logical_and.reduceat(block_ok, first_block), tc


def _scan(
    t: Template, s: Spec, buf: bytearray, n: int, starts: list[int], counts: list[int]
) -> Scan | None:
    """(starts, counts, tag steps, cluster timecodes, first times, times, payloads) of the
    leading fragments that fit, or None. Every view of buf dies with this call (the reader
    compacts buf)."""
    r = t.run
    f = _Frags(t, np.frombuffer(buf, np.uint8, count=n), starts, counts)
    ok = f.match(t.prefix_idx, t.prefix_ref, False) & f.match(t.suffix_idx, t.suffix_ref, True)
    if r.cluster_size is not None:
        a, b = r.cluster_size
        w = b - a
        if w > 8:
            return None
        size = (f.U - f.S - r.cluster_data).astype(np.uint64)
        marker = np.uint64(1 << (7 * w))
        ok &= (_uint(f.cols(a, w)) == size + marker) & (size < marker - np.uint64(1))
    block_ok, tc_bytes = f.blocks(t, s)
    ok &= block_ok
    m = len(starts) if bool(ok.all()) else int(np.argmin(ok))
    if m < MIN_BATCH:
        return None
    if m < len(starts):
        return _scan(t, s, buf, n, starts[:m], counts[:m])
    steps: list[tuple[str, bool, list[tuple[str, TagValue]]]] = []
    for (kind, after_cluster, _), its in zip(t.steps, s.items, strict=True):
        values: list[tuple[str, TagValue]] = []
        for name, a, after, w in its:
            cols = f.cols(a, w, after)
            if bool((cols == cols[0]).all()):
                values.append((name, e.read_string(cols[0].tobytes())))
            else:
                values.append((name, cols.copy()))
        steps.append((kind, after_cluster, values))
    a, b = t.timecode
    tc = _uint(f.cols(a, b - a))
    if s.producer is not None:
        first = _seconds(f.cols(s.producer[0], s.producer[1] - s.producer[0]))
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
    raw = ((tc_bytes[..., 0].astype(np.int64) << 8) | tc_bytes[..., 1]).reshape(-1)
    ticks = np.where(raw >= 0x8000, raw - 0x10000, raw)
    times: npt.NDArray[np.int64] = np.repeat(first, f.K) + ticks.astype(np.int64) * t.scale
    return starts, counts, steps, tc, first, times, _audio(t, f.a_, starts, counts)


def _audio(
    t: Template, a_: npt.NDArray[np.uint8], starts: list[int], counts: list[int]
) -> tuple[bytes, bytes]:
    """Fragment 0's payloads, then the others': one strided copy when all fragments have the same
    number of blocks (then they are evenly spaced), else one per fragment."""
    r = t.run
    cut = r.head + 4

    def blocks(p: int, k: int, frags: int = 1) -> npt.NDArray[np.uint8]:
        length = r.start + k * r.stride + t.suffix_len
        rows = a_[p : p + frags * length].reshape(frags, length)[
            :, r.start : r.start + k * r.stride
        ]
        out: npt.NDArray[np.uint8] = rows.reshape(frags, k, r.stride)[:, :, cut:]  # a view
        return out

    first = blocks(starts[0], counts[0]).tobytes()
    k = counts[1]
    if all(c == k for c in counts[1:]):
        return first, blocks(starts[1], k, len(starts) - 1).tobytes()
    return first, b"".join(
        blocks(p, c).tobytes() for p, c in zip(starts[1:], counts[1:], strict=True)
    )


def take(reader: MkvReader, s: Spec, buf: bytearray, pos: int, n: int, out: list[MkvEvent]) -> int:
    """Position after the fragments at buf[pos:] taken as one batch (pos if none)."""
    t = s.template
    starts, counts = _find(t, buf, pos, n, MIN_BATCH)
    if len(starts) < MIN_BATCH or _scan(t, s, buf, n, starts, counts) is None:
        return pos  # cheap test first: most irregular fragments fail here
    more = _find(
        t, buf, starts[-1] + t.prefix_len + counts[-1] * t.run.stride + t.suffix_len, n, 1 << 30
    )
    got = _scan(t, s, buf, n, starts + more[0], counts + more[1])
    if got is None:
        return pos
    starts, counts, steps, tc, first, times, payloads = got
    r = t.run
    k = len(starts)
    end = starts[-1] + r.start + counts[-1] * r.stride + t.suffix_len
    base = reader._base
    absolute = [base + p for p in starts] + [base + end]
    prev = None
    if reader._fragment >= 0:
        prev = FragmentEnded(reader._fragment, reader._fragment_start, absolute[0])
    last_tracks = reader._last_tracks
    entries = last_tracks[1] if last_tracks is not None else t.entries
    out.append(
        FragmentBatch(
            first_index=reader._fragment + 1,
            starts=absolute,
            prev=prev,
            steps=steps,
            entries=entries,
            track=r.track,
            counts=counts,
            times_ns=times,
            payloads=payloads,
            frame_size=r.frame_size,
            duration_ns=t.duration_ns,
        )
    )
    last_tc = int(tc[k - 1])
    reader._fragment += k
    reader._fragment_start = absolute[k - 1]
    reader._scale = t.scale
    reader._producer_ns = int(first[k - 1]) if s.producer is not None else None
    reader._cluster_tc = last_tc
    reader._first_cluster_tc = last_tc
    reader._after_cluster = True
    reader._block_size = r.stride - r.head
    reader._stack[:] = [(e.SEGMENT, None, 0)]
    return end


def follow(
    reader: MkvReader, t: Template, buf: bytearray, pos: int, n: int, out: list[MkvEvent]
) -> int:
    """After a templated fragment: the fragments of the same layout that follow, as one batch."""
    s = reader._batch
    if s is None or s.template is not t:
        s = reader._batch = spec(t)
    return take(reader, s, buf, pos, n, out)
