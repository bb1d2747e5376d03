"""What the simulator produces: a call, its legs and exactly what each leg carried."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from siprec_recorder.media.pcm import Int16Array
from siprec_recorder.media.writer import FragmentInfo


@dataclass
class SimulatedLeg:
    """One recorded stream of the call and exactly what was sent on it."""

    label: str
    participant_id: str
    aor: str
    name: str
    role: str
    is_caller: bool
    stream_arn: str
    media_index: int
    start_ms: int
    pcm: Int16Array  # exact source PCM from start_ms; gaps are zeros at their wall-clock place
    fragments: list[tuple[FragmentInfo, bytes]]  # everything on the stream, in order
    end_ms: int = 0
    first_fragment: str = ""  # this call's first fragment (startFragmentNumber)
    last_fragment: str = ""  # this call's last fragment (currentFragmentNumber)
    gaps_ms: list[tuple[int, int]] = field(default_factory=list)  # [start, end) wall clock

    @property
    def stream_name(self) -> str:
        return self.stream_arn.split("/")[1]

    @property
    def own_fragments(self) -> list[tuple[FragmentInfo, bytes]]:
        """The fragments of this call only (not other calls' on a reused stream)."""
        lo, hi = int(self.first_fragment), int(self.last_fragment)
        return [(i, d) for i, d in self.fragments if lo <= int(i.number) <= hi]


@dataclass
class SimulatedCall:
    """The whole call: ids, legs (only those whose media arrived) and events in delivery order."""

    transaction_id: str
    call_id: str
    voice_connector_id: str
    conversation_id: str
    start_ms: int
    end_ms: int
    legs: list[SimulatedLeg]
    events: list[dict[str, Any]]
    siprec_metadata: str = ""
    updated_metadata: str = ""
    missing_labels: list[str] = field(default_factory=list)
