"""What decoding a stream gives: its tracks' PCM spools and counts, and the filter it used.

Kept apart from the decoder so the pipeline and the CLI can name a result without the decoder's
state machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siprec_recorder.media.pcm import PcmSpool


@dataclass(frozen=True)
class CallFilter:
    """Keep only fragments whose producer tags carry every id given here."""

    transaction_id: str | None = None
    call_id: str | None = None
    contact_id: str | None = None

    def wanted(self) -> dict[str, str]:
        """Lower-cased tag name -> required value."""
        pairs = {
            "transactionid": self.transaction_id,
            "callid": self.call_id,
            "contactid": self.contact_id,
        }
        return {k: v for k, v in pairs.items() if v is not None}


@dataclass
class TrackResult:
    """One track of the decoded stream (tracks are identified by name across fragments)."""

    number: int
    name: str | None
    codec: str
    sample_rate: int | None
    channels: int | None
    frames: int = 0
    samples: int = 0
    gaps: int = 0
    gap_ms: float = 0.0
    overlaps: int = 0
    overlap_ms: float = 0.0
    start_ns: int | None = None
    pcm: PcmSpool | None = None


@dataclass
class DecodeResult:
    """What a stream held: counts, the cut if any, tracks and the first kept fragment's tags."""

    fragments: int = 0
    skipped_fragments: int = 0
    truncated: bool = False
    truncated_at: int | None = None
    tracks: list[TrackResult] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        """Delete every track's spool."""
        for t in self.tracks:
            if t.pcm is not None:
                t.pcm.close()
