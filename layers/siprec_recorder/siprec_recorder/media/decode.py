"""The pipeline's decoder: KVS media bodies in, exact per-track PCM (spooled to disk) out.

A fragment's audio is held only until the fragment is known to belong to the call: KVS streams are
reused across calls, and the producer tag that says which call a fragment belongs to may stand
before the Cluster or after it. With no filter, or once the tag matched, frames go straight to
the track's timeline. State is the current fragment plus counters; audio lives in PcmSpools.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from siprec_recorder.errors import MediaError
from siprec_recorder.media.codecs import AudioFormat, track_format
from siprec_recorder.media.events import (
    FragmentBatch,
    FragmentEnded,
    FragmentStarted,
    FragmentTags,
    Frame,
    FrameRun,
    TrackEntry,
    Truncated,
)
from siprec_recorder.media.mkv import MkvReader
from siprec_recorder.media.pcm import PcmSpool
from siprec_recorder.media.results import CallFilter, DecodeResult, TrackResult
from siprec_recorder.media.timeline import MAX_GAP_SECONDS, Timeline

KVS_TAG_PREFIX = "AWS_KINESISVIDEO_"


class _Track:
    __slots__ = ("entry", "result", "timeline")

    def __init__(self, entry: TrackEntry, result: TrackResult, timeline: Timeline | None) -> None:
        self.entry = entry  # the latest Tracks entry seen for it (its format is the timeline's)
        self.result = result
        self.timeline = timeline


SpoolFactory = Callable[[TrackEntry, AudioFormat], PcmSpool]


class StreamDecoder:
    """Incremental decoder: feed() successive bodies or chunks, then close()."""

    def __init__(
        self,
        *,
        call_filter: CallFilter | None = None,
        spool_dir: str | Path | None = None,
        fast: bool = True,
        spool_factory: SpoolFactory | None = None,
        max_gap_seconds: int = MAX_GAP_SECONDS,
    ) -> None:
        self._max_gap = max_gap_seconds
        self._fast = fast
        self._reader = MkvReader(fast=fast)
        self._wanted = call_filter.wanted() if call_filter else {}
        self._spool_dir = spool_dir
        self._spool_factory = spool_factory
        self._result = DecodeResult()
        self._tracks: dict[tuple[str, str | int], _Track] = {}
        self._entries: dict[int, TrackEntry] = {}  # latest TrackEntry of each track number
        self._fragment_tracks: list[int] = []  # track numbers this fragment defined
        self._resolved: dict[int, _Track] = {}
        self._keep: bool | None = None  # None: undecided, waiting for the filter's tag
        self._pending: list[Frame | FrameRun] = []
        self._tags: dict[str, str] = {}
        self._open = False
        self._first_fragment: int | None = None
        self._dispatch: dict[type, Callable[[Any], None]] = {
            Frame: self._on_frames,
            FrameRun: self._on_frames,
            FragmentTags: self._on_tags_event,
            TrackEntry: self._on_track,
            FragmentStarted: self._on_start,
            FragmentEnded: self._on_end,
            FragmentBatch: self._on_batch,
            Truncated: self._on_truncated,
        }
        self._closed = False
        self._failed = False
        #: where a MediaError stopped decoding: the start of the fragment it happened in (or of
        #: the input when no fragment had begun); None without an error
        self.error_offset: int | None = None
        self._last_start: int | None = None  # absolute start of the latest fragment begun

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Consume the next chunk of media.

        On an error (MediaError) the decoder stops: later feeds are ignored and close() returns
        everything decoded before the bad bytes, so a caller can keep that audio.
        """
        if self._failed:
            return
        start = self._reader.offset
        try:
            events = self._reader.feed(data)
        except MediaError:
            self._failed = True
            try:
                for ev in self._reader.events_before_error:
                    self._handle(ev)
            finally:
                self._stopped_at(start)
            raise
        try:
            for ev in events:
                self._handle(ev)
        except BaseException as exc:
            self._failed = True
            if isinstance(exc, MediaError):  # e.g. the timeline's gap limit
                self._stopped_at(start)
            raise

    def resume(self, at: int) -> None:
        """After a MediaError, go on decoding at absolute offset `at` (where a later fragment
        begins): a fresh reader, the same tracks. The audio after the damage goes through the
        same timelines, so the damaged stretch is a counted gap of silence and the gap limits,
        rounding and overlap rules are the decoder's own. Feed the bytes from `at`, then close()
        again."""
        if self.error_offset is None:
            raise RuntimeError("resume() is only for a decoder stopped by a media error")
        self._reader = MkvReader(fast=self._fast, base=at)
        self._failed = self._closed = self._open = False
        self.error_offset = self._last_start = None
        self._keep = None
        self._pending.clear()
        self._tags = {}
        self._resolved = {}
        self._fragment_tracks = []

    def _stopped_at(self, feed_start: int) -> None:
        self.error_offset = self._last_start if self._last_start is not None else feed_start

    @property
    def result(self) -> DecodeResult:
        """What was decoded so far; after close() raised, the audio from before the error."""
        return self._result

    def close(self) -> DecodeResult:
        """End of input: finish the last fragment, flush the spools, return the result.

        An error found only at the end (a tag KVS put after the last cluster) is raised after
        the tracks are finished, so `result` still holds everything before it."""
        if not self._closed:
            self._closed = True
            try:
                if not self._failed:
                    start = self._reader.offset
                    try:
                        events = self._reader.end()
                    except MediaError:
                        for ev in self._reader.events_before_error:
                            self._handle(ev)
                        self._stopped_at(start)
                        raise
                    try:
                        for ev in events:
                            self._handle(ev)
                    except MediaError:  # e.g. the timeline's gap limit, in the last fragment
                        self._stopped_at(start)
                        raise
            finally:
                if self._open and self._keep is not True:
                    self._result.skipped_fragments += 1
                self._open = False
                self._pending.clear()
                for tr in self._tracks.values():
                    self._finish(tr)
        return self._result

    # --- events -----------------------------------------------------------------------------

    def _handle(self, ev: object) -> None:
        self._dispatch[type(ev)](ev)

    def _on_frames(self, ev: Frame | FrameRun) -> None:
        if self._keep:
            self._place(ev)
        elif self._keep is None:
            self._pending.append(ev)

    def _on_batch(self, ev: FragmentBatch) -> None:
        """Fragment 0 event by event; the others in one go when their tags cannot decide
        differently (no filtered tag varies and fragment 0 was decided), else event by event."""
        for x in ev.fragment_events(0):
            self._handle(x)
        rest = ev.count - 1
        run = ev.rest()
        tr = self._track(ev.track) if self._keep else None
        if (
            self._keep is None
            or any(n.lower() in self._wanted for n in ev.varying())
            or (tr is not None and tr.timeline is not None and not tr.timeline.contiguous(run))
        ):
            for j in range(1, ev.count):
                for x in ev.fragment_events(j):
                    self._handle(x)
            return
        # what fragments 1.. leave behind, event by event: counts, tags, tracks, audio
        self._last_start = ev.starts[ev.count - 1]
        self._result.fragments += rest
        if not self._keep:
            self._result.skipped_fragments += rest
        self._pending.clear()
        self._tags = {}
        for k, (kind, _, _) in enumerate(ev.steps):
            if kind == "tags":
                self._tags.update(ev.tags(rest, k))
        self._resolved = {}
        self._fragment_tracks = []
        for entry in ev.entries:
            self._on_track(entry)
        if self._keep:
            self._place(run)

    def _on_tags_event(self, ev: FragmentTags) -> None:
        self._on_tags(ev.tags)

    def _on_track(self, ev: TrackEntry) -> None:
        self._entries[ev.number] = ev
        self._fragment_tracks.append(ev.number)
        self._resolved.pop(ev.number, None)
        if self._keep:
            self._track(ev.number)  # listed even if it carries no frame

    def _on_start(self, ev: FragmentStarted) -> None:
        self._last_start = ev.offset
        self._result.fragments += 1
        self._open = True
        self._keep = None if self._wanted else True
        self._pending.clear()
        self._tags = {}
        self._resolved = {}
        self._fragment_tracks = []
        if self._keep:
            self._commit_first()

    def _on_end(self, ev: FragmentEnded) -> None:
        self._open = False
        if not self._keep:
            self._result.skipped_fragments += 1
            self._pending.clear()
        # committed audio waits in the timeline's bounded buffer (1 MiB) and goes to the spool in
        # large writes; close() flushes the rest

    def _on_truncated(self, ev: Truncated) -> None:
        self._result.truncated = True
        self._result.truncated_at = ev.offset

    def _on_tags(self, tags: dict[str, str]) -> None:
        self._tags.update(tags)
        if self._keep is None:
            lower = {k.lower(): v for k, v in self._tags.items()}
            present = [k for k in self._wanted if k in lower]
            if any(lower[k] != self._wanted[k] for k in present):
                self._keep = False
                self._pending.clear()
            elif len(present) == len(self._wanted):
                self._keep = True
                self._commit_first()
                for number in self._fragment_tracks:
                    self._track(number)
                pending, self._pending = self._pending, []
                for ev in pending:
                    self._place(ev)
        if self._keep and self._first_fragment == self._result.fragments:
            self._result.tags = _producer_tags(self._tags)

    def _commit_first(self) -> None:
        if self._first_fragment is None:
            self._first_fragment = self._result.fragments

    def _track(self, number: int) -> _Track | None:
        tr = self._resolved.get(number)
        if tr is not None:
            return tr
        entry = self._entries.get(number)
        if entry is None:
            return None
        key: tuple[str, str | int] = ("name", entry.name) if entry.name else ("number", number)
        tr = self._tracks.get(key)
        if tr is None:
            fmt = track_format(entry)
            result = TrackResult(
                number=number,
                name=entry.name,
                codec=entry.codec_id,
                sample_rate=fmt.sample_rate if fmt else None,
                channels=fmt.channels if fmt else None,
            )
            timeline = None
            if fmt is not None:
                spool = (
                    self._spool_factory(entry, fmt)
                    if self._spool_factory
                    else PcmSpool(fmt.sample_rate, self._spool_dir)
                )
                result.pcm = spool
                timeline = Timeline(fmt, spool, entry.name or f"track{number}", self._max_gap)
            tr = _Track(entry, result, timeline)
            self._tracks[key] = tr
            self._result.tracks.append(result)
        elif entry is not tr.entry and entry != tr.entry:
            _same_format(tr, entry)
            tr.entry = entry
        self._resolved[number] = tr
        return tr

    def _place(self, ev: Frame | FrameRun) -> None:
        tr = self._track(ev.track)
        if tr is None:
            return
        tl = tr.timeline
        if isinstance(ev, FrameRun):
            if tl is None:
                tr.result.frames += len(ev.times_ns)
            else:
                tl.add_run(ev)
        elif tl is None:
            tr.result.frames += 1
        else:
            tl.add(ev.time_ns, ev.payload)

    def _finish(self, tr: _Track) -> None:
        tl = tr.timeline
        if tl is None:
            return
        tl.flush()
        r = tr.result
        rate = tl.fmt.sample_rate
        r.frames = tl.frames
        r.samples = tl.spool.samples
        r.gaps, r.overlaps = tl.gaps, tl.overlaps
        r.gap_ms = round(tl.gap_samples * 1000 / rate, 3)
        r.overlap_ms = round(tl.overlap_samples * 1000 / rate, 3)
        r.start_ns = tl.start_ns


def _same_format(tr: _Track, entry: TrackEntry) -> None:
    """A later fragment may describe a track again, but not as another format: its samples
    would be placed at the old rate (a reused stream, or damage). MediaError names the change."""
    fmt = track_format(entry)
    old = tr.timeline.fmt if tr.timeline is not None else None
    if fmt != old:
        raise MediaError(
            f"track {(entry.name or str(entry.number))[:40]!r} changes format mid-stream: "
            f"{_describe(old)} -> {_describe(fmt)}"
        )


def _describe(fmt: AudioFormat | None) -> str:
    return "no audio" if fmt is None else f"{fmt.kind} {fmt.sample_rate} Hz x{fmt.channels}"


def _producer_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(KVS_TAG_PREFIX)}


def decode_file(
    path: Path,
    *,
    call_filter: CallFilter | None = None,
    spool_dir: Path | None = None,
    chunk_size: int = 1 << 20,
    fast: bool = True,
    spool_factory: SpoolFactory | None = None,
) -> DecodeResult:
    """Decode a whole file, read in chunks (memory does not grow with its length)."""
    decoder = StreamDecoder(
        call_filter=call_filter, spool_dir=spool_dir, fast=fast, spool_factory=spool_factory
    )
    try:
        with open(path, "rb") as f:
            while chunk := f.read(chunk_size):
                decoder.feed(chunk)
        return decoder.close()  # may raise too: an error found only at the end
    except BaseException:
        decoder.close().close()  # no spool left behind
        raise
