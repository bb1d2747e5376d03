"""A sans-IO incremental Matroska / KVS GetMedia reader: `feed(bytes)` in, events out.

The same object reads a file, an HTTP body in chunks of any size, or test bytes. Memory is the
current partial element plus the events of one chunk: large skipped elements are skipped by
count, never buffered, and elements above the limits are refused.

Only Segment and Cluster are walked element by element (both may have unknown size: an
unknown-size element ends where an element of the same or a higher level starts, or at the end
of input). Info, Tracks, Tags, BlockGroup and the EBML header are small and read whole
(`units.py`). Every top-level EBML header starts a fragment (KVS writes one per fragment).

`MkvReader(fast=True)` (the decoder's default) also emits FrameRun events: whole KVS fragments
matched against a byte-layout template (`template.py`) and regular runs of SimpleBlocks
(`fast.py`), each exactly equivalent to the Frame events the general path gives; and
FragmentBatch events: the fragments of the template's layout that follow, checked all at once
(`batch.py`), exactly equivalent to their events one by one.
After an error, `events_before_error` holds the events completed before the bad bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from siprec_recorder.errors import KvsServiceError, MediaError
from siprec_recorder.media import ebml as e
from siprec_recorder.media import units
from siprec_recorder.media.blocks import parse_block
from siprec_recorder.media.codecs import AudioFormat, track_format
from siprec_recorder.media.events import (
    FragmentEnded,
    FragmentStarted,
    FragmentTags,
    Frame,
    MkvEvent,
    TrackEntry,
    Truncated,
)

if TYPE_CHECKING:
    from siprec_recorder.media.batch import Spec
    from siprec_recorder.media.template import Template

PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"
ERROR_CODE = "AWS_KINESISVIDEO_ERROR_CODE"
# GetMediaForFragmentList reports a fragment it cannot deliver with these instead
EXCEPTION_CODE = "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE"
ERROR_ID = "AWS_KINESISVIDEO_ERROR_ID"

MAX_BLOCK = 16 << 20  # one block / BlockGroup
MAX_UNIT = 1 << 20  # Info, Tracks, Tags
MAX_HEADER = 4096  # EBML header

# Levels that decide where an unknown-size Segment (0) or Cluster (1) ends.
_LEVEL = {
    e.EBML: 0,
    e.SEGMENT: 0,
    e.SEEK_HEAD: 1,
    e.INFO: 1,
    e.TRACKS: 1,
    e.CLUSTER: 1,
    e.CUES: 1,
    e.TAGS: 1,
    e.CHAPTERS: 1,
    e.ATTACHMENTS: 1,
}
_UNIT_LIMIT = {e.INFO: MAX_UNIT, e.TRACKS: MAX_UNIT, e.TAGS: MAX_UNIT}


class _TrackTiming:
    """What the reader needs to time a track's frames."""

    __slots__ = ("fmt", "default_ns")

    def __init__(self, entry: TrackEntry) -> None:
        try:
            self.fmt: AudioFormat | None = track_format(entry)
        except MediaError:
            self.fmt = None  # the decoder refuses it; the reader still splits and times frames
        self.default_ns = entry.default_duration_ns or 0


class MkvReader:
    """Incremental reader; `fast=True` turns regular runs of SimpleBlocks into FrameRun events."""

    def __init__(self, *, fast: bool = False, base: int = 0) -> None:
        """`base`: the absolute offset of the first byte fed (a reader started mid-stream)."""
        self._buf = bytearray()
        self._pos = 0  # parse position in _buf
        self._base = base  # absolute offset of _buf[0]
        self._skip = 0  # bytes still to skip of an ignored element
        self._skip_from = 0  # where that element started (for Truncated)
        self._stack: list[tuple[int, int | None, int]] = []  # (id, end or None, level)
        self._fragment = -1
        self._fragment_start = 0
        self._scale = 1_000_000
        self._producer_ns: int | None = None
        self._cluster_tc: int | None = None
        self._first_cluster_tc: int | None = None
        self._after_cluster = False
        self._block_size: int | None = None  # size of the Cluster's latest SimpleBlock
        self._tracks: dict[int, _TrackTiming] = {}
        self._last_tracks: tuple[bytes, list[TrackEntry]] | None = None
        self._fast = fast
        self._template: Template | None = None
        self._batch: Spec | None = None  # the template's layout for whole batches of fragments
        self._template_backoff = 0
        self._template_retry = 0  # bytes to buffer before trying to build a template again
        self._done = False
        self._error: MediaError | None = None
        #: after feed()/end() raised: the events completed before the bad bytes
        self.events_before_error: list[MkvEvent] = []

    # --- public API ------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[MkvEvent]:
        """Consume a chunk of any size; returns the events it completed."""
        if self._done:
            raise MediaError("data fed after end()")
        self._buf += data
        return self._run()

    def end(self) -> list[MkvEvent]:
        """End of input: closes open elements, or reports Truncated(offset) if cut mid-element."""
        if self._done:
            return []
        out = self._run(final=True)
        self._done = True
        cut = self._skip or self._pos < len(self._buf)
        if cut or any(end is not None for _, end, _ in self._stack):
            offset = self._skip_from if self._skip else self._base + self._pos
            out.append(Truncated(offset))
            return out
        self._stack.clear()
        if self._fragment >= 0:
            out.append(FragmentEnded(self._fragment, self._fragment_start, self._base + self._pos))
        return out

    @property
    def offset(self) -> int:
        """Absolute offset of the next byte to parse."""
        return self._base + self._pos

    # --- main loop -------------------------------------------------------------------------

    def _run(self, final: bool = False) -> list[MkvEvent]:
        """Parse what is buffered; on an error keep the events completed before it."""
        if self._error is not None:
            raise self._error
        out: list[MkvEvent] = []
        try:
            self._parse(out, final)
        except MediaError as exc:
            self._error = exc
            self.events_before_error = out
            raise
        return out

    def _parse(self, out: list[MkvEvent], final: bool) -> None:
        buf = self._buf
        n = len(buf)
        pos = self._pos
        stack = self._stack
        while True:
            if self._skip:
                take = min(self._skip, n - pos)
                if take < self._skip and not final:  # keep what may begin a fragment header
                    take = max(0, take - e.FRAGMENT_HEAD)
                self._no_fragment_inside(buf, pos, pos + take, self._skip_from, "element")
                pos += take
                self._skip -= take
                if self._skip:
                    break
            off = self._base + pos
            while stack and stack[-1][1] is not None and off >= stack[-1][1]:  # type: ignore[operator]
                stack.pop()
            if pos >= n:
                break
            got = e.read_id(buf, pos, n, self._base)
            if got is None:
                break
            eid, il = got
            got2 = e.read_size(buf, pos + il, n, self._base)
            if got2 is None:
                break
            size, sl = got2
            hl = il + sl
            level = _LEVEL.get(eid)
            if level is not None:
                while stack and stack[-1][1] is None and stack[-1][2] >= level:
                    stack.pop()
            parent = stack[-1][0] if stack else None
            if size != e.UNKNOWN and stack:
                parent_end = stack[-1][1]
                if parent_end is not None and off + hl + size > parent_end:
                    raise MediaError(f"element 0x{eid:X} at offset {off} overruns its parent")
            if self._fragment < 0 and eid != e.EBML:
                raise MediaError("not a Matroska/KVS stream: no EBML header at offset 0")

            if eid == e.EBML:
                if stack:
                    raise MediaError(f"EBML header inside a sized element at offset {off}")
                if self._fast:
                    from siprec_recorder.media.template import WAIT
                    from siprec_recorder.media.templated import take_fragment

                    after = take_fragment(self, buf, pos, n, final, out)
                    if after == WAIT:
                        break
                    if after is not None:
                        pos = after
                        continue
                body = self._whole(buf, pos, hl, size, n, MAX_HEADER, "EBML header")
                if body is None:
                    break
                units.parse_ebml_header(body)
                self._start_fragment(off, out)
                pos += hl + size
            elif eid == e.SEGMENT:
                if stack:
                    raise MediaError(f"nested Segment at offset {off}")
                stack.append((eid, None if size == e.UNKNOWN else off + hl + size, 0))
                self._scale = 1_000_000
                pos += hl
            elif parent is None:
                if eid not in (e.VOID, e.CRC32) or size == e.UNKNOWN:
                    raise MediaError(f"unexpected element 0x{eid:X} at top level, offset {off}")
                pos = self._start_skip(pos, off, hl, size)
            elif eid == e.CLUSTER:
                if parent != e.SEGMENT:
                    raise MediaError(f"Cluster outside a Segment at offset {off}")
                stack.append((eid, None if size == e.UNKNOWN else off + hl + size, 1))
                self._cluster_tc = None
                self._block_size = None
                self._after_cluster = True
                pos += hl
            elif parent == e.CLUSTER and eid == e.SIMPLE_BLOCK:
                if self._fast and self._cluster_tc is not None:
                    from siprec_recorder.media.fast import take_run

                    limit = n if stack[-1][1] is None else min(n, stack[-1][1] - self._base)  # type: ignore[operator]
                    run = take_run(self, buf, pos, limit)
                    if run is not None:
                        out.append(run[0])
                        pos = run[1]
                        continue
                if size != self._block_size:  # a run's first block: see first_block_is_whole
                    end = n if size == e.UNKNOWN else min(n, pos + hl + size)
                    self._no_fragment_inside(buf, pos + hl, end, off, "SimpleBlock")
                if size != e.UNKNOWN and 4 <= size <= MAX_BLOCK and pos + hl + size <= n:
                    a = pos + hl
                    if buf[a] >= 0x80 and not buf[a + 3] & 0x06:  # the common block: one copy
                        tc = int.from_bytes(buf[a + 1 : a + 3], "big", signed=True)
                        self._frame(buf[a] & 0x7F, tc, bytes(buf[a + 4 : a + size]), out)
                        self._block_size = size
                        pos += hl + size
                        continue
                body = self._whole(buf, pos, hl, size, n, MAX_BLOCK, "SimpleBlock")
                if body is None:
                    break
                self._frames(body, None, out)
                self._block_size = size
                pos += hl + size
            elif parent == e.CLUSTER and eid == e.TIMECODE:
                body = self._whole(buf, pos, hl, size, n, 8, "cluster Timecode")
                if body is None:
                    break
                self._cluster_tc = e.read_uint(body)
                if self._first_cluster_tc is None:
                    self._first_cluster_tc = self._cluster_tc
                pos += hl + size
            elif parent == e.CLUSTER and eid == e.BLOCK_GROUP:
                end = n if size == e.UNKNOWN else min(n, pos + hl + size)
                self._no_fragment_inside(buf, pos + hl, end, off, "BlockGroup")
                body = self._whole(buf, pos, hl, size, n, MAX_BLOCK, "BlockGroup")
                if body is None:
                    break
                (a, b), duration = units.parse_block_group(body)
                self._frames(body[a:b], duration, out)
                pos += hl + size
            elif parent == e.SEGMENT and eid in _UNIT_LIMIT:
                body = self._whole(buf, pos, hl, size, n, _UNIT_LIMIT[eid], "element")
                if body is None:
                    break
                self._unit(eid, body, out)
                pos += hl + size
            else:
                if size == e.UNKNOWN:
                    raise MediaError(f"unknown-size element 0x{eid:X} at offset {off}")
                pos = self._start_skip(pos, off, hl, size)
        # drop what was parsed; only a partial element stays buffered
        if pos:
            del buf[:pos]
            self._base += pos
        self._pos = 0

    def _whole(
        self, buf: bytearray, pos: int, hl: int, size: int, n: int, limit: int, what: str
    ) -> bytes | None:
        """The element's body once it is all buffered (None: wait), refusing oversize ones."""
        if size == e.UNKNOWN:
            raise MediaError(f"{what} of unknown size at offset {self._base + pos}")
        if size > limit:
            raise MediaError(f"{what} of {size} bytes at offset {self._base + pos} exceeds {limit}")
        start = pos + hl
        if start + size > n:
            return None
        return bytes(buf[start : start + size])

    def _no_fragment_inside(self, buf: bytearray, a: int, b: int, off: int, what: str) -> None:
        """MediaError when buf[a:b], bytes of the element at `off`, holds a fragment start."""
        at = e.fragment_start_in(buf, a, b)
        if at >= 0:
            raise MediaError(
                f"{what} at offset {off} runs into a fragment starting at offset "
                f"{self._base + at} (a damaged size)"
            )

    def first_block_is_whole(self, buf: bytearray, a: int, b: int, size: int) -> bool:
        """For the fast paths: the rule the general path applies to the first SimpleBlock of a
        run of same-size blocks (body buf[a:b]): no fragment start inside. A damaged size makes a
        block differ from the one before it, so checking run starts finds the damage without
        scanning every block's audio. False: leave the block to the general path."""
        return size == self._block_size or e.fragment_start_in(buf, a, b) < 0

    def _start_skip(self, pos: int, off: int, hl: int, size: int) -> int:
        self._skip = size
        self._skip_from = off
        return pos + hl

    # --- handlers --------------------------------------------------------------------------

    def _start_fragment(self, off: int, out: list[MkvEvent]) -> None:
        if self._fragment >= 0:
            out.append(FragmentEnded(self._fragment, self._fragment_start, off))
        self._fragment += 1
        self._fragment_start = off
        self._producer_ns = None
        self._cluster_tc = None
        self._first_cluster_tc = None
        self._after_cluster = False
        self._block_size = None
        out.append(FragmentStarted(self._fragment, off))

    def _unit(self, eid: int, body: bytes, out: list[MkvEvent]) -> None:
        if eid == e.INFO:
            self._scale = units.parse_info(body)
        elif eid == e.TRACKS:
            if self._last_tracks is not None and self._last_tracks[0] == body:
                entries = self._last_tracks[1]
            else:
                entries = units.parse_tracks(body)
                self._last_tracks = (body, entries)
                self._tracks = {t.number: _TrackTiming(t) for t in entries}
            out.extend(entries)
        else:
            tags = units.parse_tags(body)
            if ERROR_CODE in tags:
                code = tags[ERROR_CODE][:60]
                ident = tags.get(ERROR_ID, "")[:60]
                raise KvsServiceError(
                    f"KVS error code {code}" + (f" (error id {ident})" if ident else "")
                )
            if EXCEPTION_CODE in tags:
                number = tags.get("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "?")[:60]
                raise KvsServiceError(
                    f"KVS exception {tags[EXCEPTION_CODE][:60]} for fragment {number}"
                )
            if PRODUCER_TIMESTAMP in tags and not self._after_cluster:
                self._producer_ns = units.parse_kvs_seconds(tags[PRODUCER_TIMESTAMP])
            out.append(FragmentTags(self._fragment, tags, self._after_cluster))

    def block_time_ns(self, ticks: int) -> int:
        """Absolute time of a block at `ticks` = cluster timecode + block timecode."""
        if self._producer_ns is not None and self._first_cluster_tc is not None:
            return self._producer_ns + (ticks - self._first_cluster_tc) * self._scale
        return ticks * self._scale

    def timing(self, track: int) -> tuple[AudioFormat | None, int] | None:
        """(audio format, default duration ns) of a known track (for the fast path)."""
        t = self._tracks.get(track)
        return None if t is None else (t.fmt, t.default_ns)

    @property
    def cluster_tc(self) -> int | None:
        return self._cluster_tc

    def _frame(self, track: int, tc: int, payload: bytes, out: list[MkvEvent]) -> None:
        """One unlaced SimpleBlock (what `_frames` does for it, without a second copy)."""
        timing = self._tracks.get(track)
        if timing is None:
            raise MediaError(f"block for track {track}, which has no TrackEntry")
        if self._cluster_tc is None:
            raise MediaError("block before its cluster's Timecode")
        fmt = timing.fmt
        duration = fmt.duration_ns(len(payload)) if fmt is not None else timing.default_ns
        out.append(Frame(track, self.block_time_ns(self._cluster_tc + tc), payload, duration))

    def _frames(self, body: bytes, duration_ticks: int | None, out: list[MkvEvent]) -> None:
        track, tc, frames = parse_block(body)
        timing = self._tracks.get(track)
        if timing is None:
            raise MediaError(f"block for track {track}, which has no TrackEntry")
        if self._cluster_tc is None:
            raise MediaError("block before its cluster's Timecode")
        time = self.block_time_ns(self._cluster_tc + tc)
        fmt = timing.fmt
        if fmt is None and duration_ticks is not None:
            default = duration_ticks * self._scale // len(frames)
        else:
            default = timing.default_ns
        for a, b in frames:
            duration = fmt.duration_ns(b - a) if fmt is not None else default
            out.append(Frame(track, time, body[a:b], duration))
            time += duration
