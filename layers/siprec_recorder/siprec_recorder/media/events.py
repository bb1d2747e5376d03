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


MkvEvent = (
    FragmentStarted | FragmentTags | TrackEntry | Frame | FragmentEnded | Truncated | FrameRun
)
