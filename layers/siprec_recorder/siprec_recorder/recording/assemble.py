"""Placing the parties on one call timeline and reading mono/stereo audio in bounded windows.

t0 is the earliest first sample of any party; each party sits at its offset from t0 (its
`start_ns`, rounded to the nearest sample). Mono files are each party's own PCM from its first
sample; the stereo file is the whole call with customer-side parties on the left and agent-side
parties on the right, silence where a party is not (yet, or any more) there. Audio is read from
the PcmSpools one window at a time (30 s by default), so a call of any length costs the same
memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from siprec_recorder.errors import MediaError
from siprec_recorder.media.pcm import PcmSpool
from siprec_recorder.recording.model import ROLE_AGENT, ROLE_CUSTOMER, PartyAudio

WINDOW_SECONDS = 30
MAX_CALL_SECONDS = 24 * 3600  # a longer timeline means inconsistent start times, not a call
BLOCK_SECONDS = 0.02  # activity is judged per 20 ms block (one voice frame)
ACTIVE_DBFS = -60.0  # a block quieter than this counts as silence (see oneway.py)
_FULL_SCALE = 32768.0
_ACTIVE_MEAN_SQUARE = (_FULL_SCALE * 10 ** (ACTIVE_DBFS / 20)) ** 2

Int16Array = npt.NDArray[np.int16]


@dataclass
class Track:
    """A party with audio, and where its sample 0 sits on the call timeline."""

    party: PartyAudio
    pcm: PcmSpool
    offset: int  # samples after t0


@dataclass
class CallLayout:
    """Every party with audio on one timeline, and which stereo channel each one feeds."""

    sample_rate: int
    t0_ns: int
    total_samples: int
    tracks: list[Track]
    left: list[Track] = field(default_factory=list)
    right: list[Track] = field(default_factory=list)
    left_labels: list[str] = field(default_factory=list)
    right_labels: list[str] = field(default_factory=list)

    def start_ns(self, track: Track) -> int:
        """Epoch ns of a track's first sample, on the sample grid of the call."""
        return self.t0_ns + track.offset * 1_000_000_000 // self.sample_rate


def _side(party: PartyAudio) -> int | None:
    """0 = left (customer side), 1 = right (agent side), None = undecided."""
    if party.role == ROLE_CUSTOMER:
        return 0
    if party.role == ROLE_AGENT:
        return 1
    if party.is_caller is not None:
        return 0 if party.is_caller else 1
    return None


def assign_channels(parties: Sequence[PartyAudio]) -> tuple[list[PartyAudio], list[PartyAudio]]:
    """Customer left, agent right; unknown roles by is_caller, then label order.

    Undecided parties fill whichever side is empty (left first), else alternate in label
    order, so two unknown parties always end up one per channel.
    """
    left: list[PartyAudio] = []
    right: list[PartyAudio] = []
    undecided: list[PartyAudio] = []
    for party in sorted(parties, key=lambda p: p.label):
        side = _side(party)
        (left if side == 0 else right if side == 1 else undecided).append(party)
    for party in undecided:
        (left if len(left) <= len(right) else right).append(party)
    if (not left or not right) and len(left) + len(right) > 1:  # never leave a side empty
        both = sorted(left + right, key=lambda p: (p.is_caller is not True, p.label))
        left, right = both[:1], both[1:]
    return left, right


def layout_call(parties: Sequence[PartyAudio]) -> CallLayout:
    """Place every party with audio relative to the earliest first sample."""
    with_audio = [p for p in parties if p.has_audio]
    rates = {p.pcm.sample_rate for p in with_audio if p.pcm is not None}
    if len(rates) > 1:
        raise MediaError(f"parties have different sample rates {sorted(rates)}")
    rate = rates.pop() if rates else 8000
    t0 = min((p.start_ns for p in with_audio if p.start_ns is not None), default=0)
    tracks: list[Track] = []
    for party in with_audio:
        assert party.pcm is not None and party.start_ns is not None
        offset = ((party.start_ns - t0) * rate + 500_000_000) // 1_000_000_000
        tracks.append(Track(party=party, pcm=party.pcm, offset=offset))
    total = max((t.offset + t.pcm.samples for t in tracks), default=0)
    if total > MAX_CALL_SECONDS * rate:
        raise MediaError(
            f"call timeline spans {total / rate / 3600:.1f} h (limit {MAX_CALL_SECONDS // 3600} h):"
            " party start times or lengths are inconsistent"
        )
    layout = CallLayout(sample_rate=rate, t0_ns=t0, total_samples=total, tracks=tracks)
    left, right = assign_channels(with_audio)
    by_party = {id(t.party): t for t in tracks}
    layout.left = [by_party[id(p)] for p in left]
    layout.right = [by_party[id(p)] for p in right]
    layout.left_labels = [p.label for p in left]
    layout.right_labels = [p.label for p in right]
    for party in sorted(parties, key=lambda p: p.label):
        # A declared party that never arrived names the (silent) side it would have filled.
        side = None if party.has_audio else _side(party)
        if side == 0 and not left:
            layout.left_labels.append(party.label)
        elif side == 1 and not right:
            layout.right_labels.append(party.label)
    return layout


def window_size(sample_rate: int, seconds: float = WINDOW_SECONDS) -> int:
    """Window length in samples, a whole number of activity blocks."""
    block = block_size(sample_rate)
    return max(block, int(sample_rate * seconds) // block * block)


def block_size(sample_rate: int) -> int:
    """Samples per activity block (20 ms)."""
    return max(1, round(sample_rate * BLOCK_SECONDS))


def mono_windows(pcm: PcmSpool, window: int) -> Iterator[Int16Array]:
    """A party's own PCM from its first sample, window by window."""
    for start in range(0, pcm.samples, window):
        yield pcm.read(start, min(window, pcm.samples - start))


def _mix(tracks: Sequence[Track], start: int, count: int) -> Int16Array:
    if not tracks:
        return np.zeros(count, dtype=np.int16)
    if len(tracks) == 1:
        t = tracks[0]
        return t.pcm.read(start - t.offset, count)
    acc = np.zeros(count, dtype=np.int32)
    for t in tracks:
        acc += t.pcm.read(start - t.offset, count)
    return np.clip(acc, -32768, 32767).astype(np.int16)


def stereo_windows(layout: CallLayout, window: int) -> Iterator[Int16Array]:
    """The whole call as (n, 2) int16 windows: left = customer side, right = agent side."""
    for start in range(0, layout.total_samples, window):
        count = min(window, layout.total_samples - start)
        out = np.empty((count, 2), dtype=np.int16)
        out[:, 0] = _mix(layout.left, start, count)
        out[:, 1] = _mix(layout.right, start, count)
        yield out


class LevelMeter:
    """RMS and peak level of a channel, and how many 20 ms blocks carry sound."""

    def __init__(self, sample_rate: int) -> None:
        self.block = block_size(sample_rate)
        self.samples = 0
        self.active_blocks = 0
        self.blocks = 0
        self._sum_squares = 0.0
        self._peak = 0

    def feed(self, pcm: npt.NDArray[np.int16]) -> None:
        """Add one window (any length; windows should be whole blocks except the last)."""
        if not len(pcm):
            return
        x = pcm.astype(np.float64)
        squares = x * x
        self._sum_squares += float(squares.sum())
        self._peak = max(self._peak, int(np.abs(pcm.astype(np.int32)).max()))
        self.samples += len(pcm)
        full = len(pcm) // self.block * self.block
        if full:
            means = squares[:full].reshape(-1, self.block).mean(axis=1)
            self.active_blocks += int((means >= _ACTIVE_MEAN_SQUARE).sum())
            self.blocks += full // self.block
        if full < len(pcm):
            self.blocks += 1
            self.active_blocks += int(squares[full:].mean() >= _ACTIVE_MEAN_SQUARE)

    @property
    def rms_dbfs(self) -> float | None:
        """RMS level in dBFS (None for digital silence or no samples)."""
        if not self.samples or self._sum_squares == 0:
            return None
        return round(20 * math.log10(math.sqrt(self._sum_squares / self.samples) / _FULL_SCALE), 2)

    @property
    def peak_dbfs(self) -> float | None:
        """Peak level in dBFS (None for digital silence or no samples)."""
        if not self._peak:
            return None
        return round(20 * math.log10(self._peak / _FULL_SCALE), 2)

    def summary(self) -> dict[str, float | None]:
        """The levels as they appear in the manifest."""
        return {"rms_dbfs": self.rms_dbfs, "peak_dbfs": self.peak_dbfs}
