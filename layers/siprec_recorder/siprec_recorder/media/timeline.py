"""Frames on the wall clock -> exact PCM: contiguity tolerance, gaps as silence, overlaps dropped.

Sample index i of a track is always at start_ns + i / rate on the wall clock. A frame is placed
by its own timestamp (not by the previous frame), so millisecond jitter never accumulates:
within max(half the frame, 2 ms) of where the audio so far ends it is contiguous; later is a gap
(filled with silence and counted); earlier is an overlap (its first samples are dropped, counted).
"""

from __future__ import annotations

import numpy as np

from siprec_recorder.errors import MediaError
from siprec_recorder.media.codecs import S16LE, AudioFormat, decode
from siprec_recorder.media.events import FrameRun
from siprec_recorder.media.pcm import PcmSpool

NS = 1_000_000_000
# a longer hole, or holes longer in total, means several calls share the stream (use a filter)
# or a broken/hostile stream: refused before the silence is written
MAX_GAP_SECONDS = 6 * 3600
FLUSH_BYTES = 1 << 20
BIG_PIECE = 1 << 16  # pending pieces this large on average are written one by one


class Timeline:
    """Places one audio track's frames into a PcmSpool."""

    def __init__(
        self, fmt: AudioFormat, spool: PcmSpool, name: str, max_gap_seconds: int = MAX_GAP_SECONDS
    ) -> None:
        self.fmt = fmt
        self.max_gap_samples = max_gap_seconds * fmt.sample_rate
        self.spool = spool
        self.name = name
        self.start_ns: int | None = None
        self.position = 0  # samples placed so far (spooled + pending)
        self.frames = 0
        self.gaps = 0
        self.gap_samples = 0
        self.overlaps = 0
        self.overlap_samples = 0
        self._in_overlap = False  # consecutive dropped frames are one overlap
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._min_tol = max(1, 2 * fmt.sample_rate // 1000)

    def _pcm_bytes(self, payload: bytes | memoryview) -> bytes:
        if self.fmt.kind == S16LE:
            if isinstance(payload, bytes) and not len(payload) % 2:
                return payload
            usable = len(payload) - len(payload) % 2
            return bytes(payload[:usable])
        return decode(self.fmt, payload).astype("<i2").tobytes()

    def _index(self, time_ns: int) -> int:
        """Sample index of a time, rounded to the nearest sample."""
        assert self.start_ns is not None
        return ((time_ns - self.start_ns) * self.fmt.sample_rate + NS // 2) // NS

    def _push(self, data: bytes, samples: int) -> None:
        self._pending.append(data)
        self._pending_bytes += len(data)
        self.position += samples
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()

    def add(self, time_ns: int, payload: bytes | memoryview) -> None:
        """Place one frame."""
        n = self.fmt.samples_in(len(payload))
        if n == 0:
            self.frames += 1
            return
        if self.start_ns is None:
            self.start_ns = time_ns
        delta = self._index(time_ns) - self.position
        tol = max(n // 2, self._min_tol)
        if delta > tol:
            if delta > self.max_gap_samples:
                raise MediaError(
                    f"track {self.name[:40]}: gap of {delta // self.fmt.sample_rate} s "
                    "(several calls in one stream? use a call filter)"
                )
            if self.gap_samples + delta > self.max_gap_samples:
                # the total too: a few frames with far-apart timestamps would otherwise ask
                # for any amount of silence (a 2 KB file for a 1 GB WAV)
                raise MediaError(
                    f"track {self.name[:40]}: gaps of more than "
                    f"{self.max_gap_samples // self.fmt.sample_rate} s in total"
                )
            self.gaps += 1
            self.gap_samples += delta
            if delta * 2 <= FLUSH_BYTES:
                self._push(bytes(delta * 2), delta)
            else:
                self.flush()
                self.spool.append_silence(delta)
                self.position += delta
        self.frames += 1
        if delta < -tol:
            drop = min(-delta, n)
            if not self._in_overlap:
                self.overlaps += 1
            self.overlap_samples += drop
            if drop == n:
                self._in_overlap = True
                return
            payload = payload[drop * self.fmt.bytes_per_frame :]
            n -= drop
        self._in_overlap = False
        self._push(self._pcm_bytes(payload), n)

    def contiguous(self, run: FrameRun) -> bool:
        """Whether every frame of the run is within tolerance of where the audio so far ends
        (then add_run places it with one append; else frame by frame)."""
        n = self.fmt.samples_in(run.frame_size)
        count = len(run.times_ns)
        if n == 0 or count == 0 or run.frame_size % self.fmt.bytes_per_frame:
            return False
        start = self.start_ns if self.start_ns is not None else int(run.times_ns[0])
        rate = self.fmt.sample_rate
        tol = max(n // 2, self._min_tol)
        if run.step_ns is not None and run.step_ns * rate == n * NS:
            # evenly spaced by exactly one frame: every frame is off by the first one's delta
            delta = ((int(run.times_ns[0]) - start) * rate + NS // 2) // NS - self.position
            return abs(delta) <= tol
        rel = run.times_ns - np.int64(start)
        if np.abs(rel).max() >= (1 << 62) // rate:
            return False
        index = (rel * rate + NS // 2) // NS
        expected = self.position + np.arange(count, dtype=np.int64) * n
        return bool(np.abs(index - expected).max() <= tol)

    def add_run(self, run: FrameRun) -> None:
        """Place a run of equal frames: one append when all are contiguous, else frame by frame."""
        if not self.contiguous(run):
            self._add_each(run)
            return
        if self.start_ns is None:
            self.start_ns = int(run.times_ns[0])
        count = len(run.times_ns)
        self.frames += count
        self._in_overlap = False
        self._push(self._pcm_bytes(run.payload), self.fmt.samples_in(run.frame_size) * count)

    def _add_each(self, run: FrameRun) -> None:
        for frame in run.frames():
            self.add(frame.time_ns, frame.payload)

    def flush(self) -> None:
        """Write pending samples to the spool (called as each fragment commits)."""
        if self._pending:
            if self._pending_bytes >= len(self._pending) * BIG_PIECE:
                for piece in self._pending:  # whole fragments: no join (a copy of each byte)
                    self.spool.append(piece)
            else:
                self.spool.append(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0
