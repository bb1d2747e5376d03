"""The input contract of the output side: what the pipeline knows about a finished call.

The pipeline fills these after decoding each KVS stream; everything in `recording/` reads only
these types, so assembly and encoding can be tested without KVS, SIPREC or AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from siprec_recorder.media.pcm import PcmSpool
from siprec_recorder.recording.integrity import Signer

ROLE_CUSTOMER = "customer"
ROLE_AGENT = "agent"
ROLE_UNKNOWN = "unknown"
ROLES = (ROLE_CUSTOMER, ROLE_AGENT, ROLE_UNKNOWN)


@dataclass
class PartyAudio:
    """One recorded participant stream, decoded (or not: `pcm` None means it never arrived)."""

    label: str
    participant_id: str | None
    aor: str | None
    name: str | None
    role: str  # "customer" | "agent" | "unknown"
    is_caller: bool | None
    stream_arn: str | None
    media_index: int | None
    pcm: PcmSpool | None
    start_ns: int | None
    frames: int = 0
    gaps: int = 0
    gap_ms: float = 0.0
    overlaps: int = 0
    decode_error: str | None = None

    @property
    def has_audio(self) -> bool:
        """True when there is at least one decoded sample placed on the call timeline."""
        return self.pcm is not None and self.pcm.samples > 0 and self.start_ns is not None


@dataclass
class CallFacts:
    """What the pipeline knows about the call apart from the audio."""

    transaction_id: str
    call_id: str | None
    voice_connector_id: str | None
    interaction_id: str | None
    interaction_id_source: str | None
    call_ids: dict[str, str]
    start_time: datetime  # tz-aware UTC
    end_time: datetime | None
    declared_labels: list[str]  # labels the SIPREC metadata says some participant sends
    warnings: list[str] = field(default_factory=list)
    siprec_xml: str | None = None
    chime_events: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class OutputOptions:
    """How to write the recording (format, key prefix, extras)."""

    fmt: str = "wav"  # wav | flac | opus
    prefix: str = "recordings/"
    report: bool = False
    one_way_threshold: float = 0.95
    signer: Signer | None = None  # signs manifest.json (KMS in production)


@dataclass
class QuarantineItem:
    """Raw media that could not be decoded, kept next to the recording for a human to inspect."""

    label: str
    stream_arn: str | None
    error: str
    raw: Path | bytes
