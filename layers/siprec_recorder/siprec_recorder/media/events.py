"""Events the sans-IO Matroska reader emits (frozen dataclasses, in stream order)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class FragmentStarted:
    """A top-level EBML header starts fragment `index` (0-based) at byte `offset`."""

    index: int
    offset: int


@dataclass(frozen=True)
class FragmentTags:
    """The SimpleTags of one Tags element; `after_cluster`: a Cluster came before it."""

    index: int
    tags: dict[str, str]
    after_cluster: bool


@dataclass(frozen=True)
class TrackEntry:
    """One TrackEntry (KVS repeats Tracks in every fragment)."""

    number: int
    uid: int | None
    name: str | None
    codec_id: str
    track_type: int | None
    sample_rate: float | None
    channels: int | None
    bit_depth: int | None
    default_duration_ns: int | None
    codec_private: bytes


@dataclass(frozen=True)
class Frame:
    """One frame (a laced block gives one per laced frame).

    `time_ns` = fragment producer timestamp + (cluster tc + block tc - first cluster tc) x scale
    when the fragment carried AWS_KINESISVIDEO_PRODUCER_TIMESTAMP before the block, else
    (cluster tc + block tc) x scale. `duration_ns` is exact for PCM/G.711, else the track's or the
    BlockGroup's duration, else 0.
    """

    track: int
    time_ns: int
    payload: bytes
    duration_ns: int


@dataclass(frozen=True)
class FragmentEnded:
    """Fragment `index` spans bytes [start, end) and was complete."""

    index: int
    start: int
    end: int


@dataclass(frozen=True)
class Truncated:
    """Input ended inside an element: bytes from `offset` on were not delivered."""

    offset: int


@dataclass(frozen=True, eq=False)
class FrameRun:
    """Fast path only: `count` equal-size frames of one track, payloads back to back.

    Exactly what `count` Frame events would say (same track, times and payloads), in one piece.
    """

    track: int
    times_ns: npt.NDArray[np.int64]
    payload: bytes
    frame_size: int
    duration_ns: int
    step_ns: int | None = None  # when set, times_ns[i] == times_ns[0] + i * step_ns exactly

    def frames(self) -> list[Frame]:
        """The equivalent Frame events."""
        size = self.frame_size
        return [
            Frame(self.track, t, self.payload[i * size : (i + 1) * size], self.duration_ns)
            for i, t in enumerate(self.times_ns.tolist())
        ]


def _step(times: npt.NDArray[np.int64]) -> int | None:
    """The constant difference of consecutive times, if there is one."""
    d = np.diff(times)
    return int(d[0]) if d.size and bool((d == d[0]).all()) else None


TagValue = str | npt.NDArray[np.uint8]  # one value for every fragment, or one row per fragment


@dataclass(frozen=True, eq=False)
class FragmentBatch:
    """Fast path only: `count` consecutive whole fragments of one byte layout, in one piece.

    Exactly what `events()` lists (FragmentEnded of the fragment before, then per fragment:
    FragmentStarted, its Tags / TrackEntry / FrameRun events in `steps` order, FragmentEnded of
    all but the last), without building per-fragment objects: the decoder takes fragments 1..
    as one run when their tags cannot change its decisions. A tag value is a str when every
    fragment has the same bytes, else a (count, width) array of raw bytes.
    """

    first_index: int
    starts: list[int]  # absolute offset of each fragment, then the end of the last
    prev: FragmentEnded | None  # the fragment before the batch, which its first start ends
    steps: list[tuple[str, bool, list[tuple[str, TagValue]]]]  # (kind, after_cluster, tags)
    entries: list[TrackEntry]
    track: int
    counts: list[int]  # frames of each fragment
    times_ns: npt.NDArray[np.int64]  # every frame's time, fragment after fragment
    payloads: tuple[bytes, bytes]  # fragment 0's audio, then the others' back to back
    frame_size: int
    duration_ns: int

    @property
    def count(self) -> int:
        """Number of fragments."""
        return len(self.starts) - 1

    def varying(self) -> set[str]:
        """Names of the tags whose value differs between the fragments."""
        return {n for _, _, items in self.steps for n, v in items if not isinstance(v, str)}

    def tags(self, j: int, step: int) -> dict[str, str]:
        """Fragment j's tags of Tags step `step` (as the general path parses them)."""
        from siprec_recorder.media.ebml import read_string

        items = self.steps[step][2]
        return {n: v if isinstance(v, str) else read_string(v[j].tobytes()) for n, v in items}

    def run(self, j: int) -> FrameRun:
        """Fragment j's frames (step_ns set when they are evenly spaced, as the template does)."""
        a = sum(self.counts[:j])
        b = a + self.counts[j]
        k0 = self.counts[0]
        size = self.frame_size
        if j == 0:
            data = self.payloads[0]
        else:
            data = self.payloads[1][(a - k0) * size : (b - k0) * size]
        times = self.times_ns[a:b]
        return FrameRun(self.track, times, data, size, self.duration_ns, _step(times))

    def rest(self) -> FrameRun:
        """The frames of fragments 1.. as one run (step_ns set only if evenly spaced across)."""
        times = self.times_ns[self.counts[0] :]
        return FrameRun(
            self.track, times, self.payloads[1], self.frame_size, self.duration_ns, _step(times)
        )

    def fragment_events(self, j: int) -> list[MkvEvent]:
        """FragmentEnded of the fragment before j (if any), then fragment j's events."""
        out: list[MkvEvent] = []
        if j > 0:
            out.append(FragmentEnded(self.first_index + j - 1, self.starts[j - 1], self.starts[j]))
        elif self.prev is not None:
            out.append(self.prev)
        out.append(FragmentStarted(self.first_index + j, self.starts[j]))
        for k, (kind, after, _items) in enumerate(self.steps):
            if kind == "tags":
                out.append(FragmentTags(self.first_index + j, self.tags(j, k), after))
            elif kind == "tracks":
                out.extend(self.entries)
            else:
                out.append(self.run(j))
        return out

    def events(self) -> list[MkvEvent]:
        """The equivalent events of the general path (FrameRuns for the frames)."""
        return [ev for j in range(self.count) for ev in self.fragment_events(j)]


MkvEvent = (
    FragmentStarted
    | FragmentTags
    | TrackEntry
    | Frame
    | FragmentEnded
    | Truncated
    | FrameRun
    | FragmentBatch
)
