"""Decoder fast path, applying a template: a fragment whose fixed bytes match is read at once.

`template.build` learns a stream's fragment layout; this module checks a later fragment's fixed
bytes against it and produces that fragment's events from the template and the variable regions
(then `batch.follow` takes the fragments after it many at a time). Any difference returns None,
and the general reader parses that fragment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from siprec_recorder.errors import MediaError
from siprec_recorder.media import batch, units
from siprec_recorder.media import ebml as e
from siprec_recorder.media import template as tpl
from siprec_recorder.media.events import FragmentTags, FrameRun, MkvEvent
from siprec_recorder.media.template import (
    INCOMPLETE,
    MAX_TEMPLATE,
    PRODUCER_TIMESTAMP,
    WAIT,
    Template,
    block_ticks,
)

if TYPE_CHECKING:
    from siprec_recorder.media.mkv import MkvReader


def apply(
    reader: MkvReader, t: Template, buf: bytearray, pos: int, n: int, out: list[MkvEvent]
) -> int | None:
    """Position after the fragment at buf[pos:] if it fits the template, WAIT, or None."""
    r = t.run
    run0 = pos + r.start
    if run0 > n:
        return WAIT
    pre = np.frombuffer(buf, np.uint8, count=t.prefix_len, offset=pos)
    if not (pre[t.prefix_idx] == t.prefix_ref).all():
        return None
    cap = 2 * r.count + 16
    avail = min((n - run0) // r.stride, cap)
    if avail == 0:
        return WAIT
    rows = np.frombuffer(buf, np.uint8, count=avail * r.stride, offset=run0).reshape(
        avail, r.stride
    )
    ok = (rows[:, r.cols] == r.col_ref).all(axis=1)
    k = avail if bool(ok.all()) else int(np.argmin(ok))
    if k == cap or k == 0:
        return None
    if k == avail:
        return WAIT  # the run may go on past the buffer
    if e.fragment_start_in(buf, run0 + r.head, run0 + r.stride) >= 0:
        return None  # the Cluster's first block: the general path's rule (first_block_is_whole)
    suffix = run0 + k * r.stride
    if suffix + t.suffix_len + 4 > n:
        return WAIT
    post = np.frombuffer(buf, np.uint8, count=t.suffix_len, offset=suffix)
    if not (post[t.suffix_idx] == t.suffix_ref).all():
        return None
    if buf[suffix + t.suffix_len : suffix + t.suffix_len + 4] != e.MAGIC:
        return None
    if r.cluster_size is not None:
        a, b = r.cluster_size
        got = e.read_size(buf, pos + a, n, reader._base)
        if got is None or got[1] != b - a or got[0] != suffix - pos - r.cluster_data:
            return None
    tc = rows[:k, r.head + 1 : r.head + 3]
    if k == r.count and bool((tc == r.tc_ref).all()):
        ticks, step = r.ticks, r.step
    else:
        ticks = block_ticks(tc)
        diffs = np.diff(ticks)
        step = int(diffs[0]) if diffs.size and bool((diffs == diffs[0]).all()) else None
    payload = rows[:k, r.head + 4 :].tobytes()
    del pre, rows, ok, tc, post  # release the views of buf before the reader compacts it
    tag_sets: list[dict[str, str]] = []
    producer_ns: int | None = None
    for kind, after, items in t.steps:
        if kind == "tags":
            base = suffix if after else pos
            tags = {name: e.read_string(buf[base + a : base + b]) for name, a, b in items}
            if PRODUCER_TIMESTAMP in tags and not after:
                try:
                    producer_ns = units.parse_kvs_seconds(tags[PRODUCER_TIMESTAMP])
                except MediaError:
                    return None  # the general path reports it, after starting the fragment
            tag_sets.append(tags)
    tc_value = int.from_bytes(buf[pos + t.timecode[0] : pos + t.timecode[1]], "big")
    first = producer_ns if producer_ns is not None else tc_value * t.scale
    if abs(first) + 32768 * t.scale >= 1 << 62:
        return None  # beyond int64: the general path computes these times
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
            reader._cluster_tc = tc_value
            reader._first_cluster_tc = tc_value
            reader._after_cluster = True
            reader._block_size = r.stride - r.head
            times = np.int64(first) + ticks * np.int64(t.scale)
            step_ns = step * t.scale if step is not None else None
            out.append(FrameRun(r.track, times, payload, r.frame_size, t.duration_ns, step_ns))
    reader._stack[:] = [(e.SEGMENT, None, 0)]
    return suffix + t.suffix_len


def take_fragment(
    reader: MkvReader, buf: bytearray, pos: int, n: int, final: bool, out: list[MkvEvent]
) -> int | None:
    """New position after a templated fragment, WAIT for more bytes, or None (general path)."""
    t = reader._template
    if t is not None:
        got = apply(reader, t, buf, pos, n, out)
        if got == WAIT:
            return None if final else WAIT
        if got is not None:
            return batch.follow(reader, t, buf, got, n, out)
    if reader._template_backoff > 0:
        reader._template_backoff -= 1
        return None
    have = n - pos
    if not final and have < reader._template_retry:
        return WAIT  # an incomplete first fragment: retry once twice as much is buffered
    built = tpl.build(reader, buf, pos, n)  # by module: tests wrap it
    reader._template_retry = 0
    if built == INCOMPLETE:
        if final or have >= MAX_TEMPLATE:
            return None
        reader._template_retry = 2 * have
        return WAIT
    if not isinstance(built, Template):
        reader._template_backoff = 8
        return None
    reader._template = built
    got = apply(reader, built, buf, pos, n, out)
    return (
        batch.follow(reader, built, buf, got, n, out) if got is not None and got != WAIT else None
    )
