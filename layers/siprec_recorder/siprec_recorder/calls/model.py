"""The call record: plain frozen values, so every transition is a pure function of (call, input).

One call per Chime `transactionId`. Streams are keyed by KVS stream ARN (one per recorded leg);
SIPREC metadata snapshots are kept with their event time so that out-of-order delivery gives the
same state. `to_dict`/`from_dict` give a JSON-ready form (the table adapter stores it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from siprec_recorder.errors import EventError


class CallStatus(StrEnum):
    """Where a call is in the pipeline; the last three are terminal."""

    ACTIVE = "ACTIVE"  # streams started, none ended yet
    ENDED = "ENDED"  # some stream ended, still waiting for an expected one
    QUEUED = "QUEUED"  # recording job sent
    RECORDING = "RECORDING"  # a recorder claimed the job
    RECORDED = "RECORDED"
    RECORDED_ONE_WAY = "RECORDED_ONE_WAY"
    FAILED = "FAILED"


TERMINAL = frozenset({CallStatus.RECORDED, CallStatus.RECORDED_ONE_WAY, CallStatus.FAILED})
STREAM_STARTED = "STARTED"
STREAM_ENDED = "ENDED"
STREAM_FAILED = "FAILED"
_TXN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


@dataclass(frozen=True, slots=True)
class StreamState:
    """One KVS stream of the call (one recorded leg / SIPREC media label)."""

    stream_arn: str
    status: str = STREAM_STARTED  # STARTED | ENDED | FAILED
    start_fragment_number: str | None = None
    current_fragment_number: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    is_caller: bool | None = None
    media_index: int | None = None
    media_label: str | None = None
    seen: tuple[str, ...] = ()  # which statuses were reported (STARTED, ENDED, FAILED)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "stream_arn": self.stream_arn,
            "status": self.status,
            "start_fragment_number": self.start_fragment_number,
            "current_fragment_number": self.current_fragment_number,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "is_caller": self.is_caller,
            "media_index": self.media_index,
            "media_label": self.media_label,
            "seen": list(self.seen),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StreamState:
        """Inverse of to_dict."""
        return cls(
            stream_arn=str(d["stream_arn"]),
            status=str(d.get("status", STREAM_STARTED)),
            start_fragment_number=d.get("start_fragment_number"),
            current_fragment_number=d.get("current_fragment_number"),
            start_time=d.get("start_time"),
            end_time=d.get("end_time"),
            is_caller=d.get("is_caller"),
            media_index=d.get("media_index"),
            media_label=d.get("media_label"),
            seen=tuple(d.get("seen", ())),
        )


@dataclass(frozen=True, slots=True)
class MetadataSnapshot:
    """One SIPREC metadata body as received (STARTED: complete; UPDATED: may be partial).

    `labels` are the expected stream labels read from it (None: could not be read);
    `xml` is None only when the store had to drop it for size (`dropped` says why).
    """

    event_id: str
    event_time: str
    source: str  # STARTED | UPDATED
    complete: bool
    xml: str | None
    labels: tuple[str, ...] | None = None
    error: str | None = None
    dropped: str | None = None

    def sort_key(self) -> tuple[str, str]:
        """Event time, then event id: the same order whatever the delivery order."""
        return (self.event_time, self.event_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "event_id": self.event_id,
            "event_time": self.event_time,
            "source": self.source,
            "complete": self.complete,
            "xml": self.xml,
            "labels": None if self.labels is None else list(self.labels),
            "error": self.error,
            "dropped": self.dropped,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MetadataSnapshot:
        """Inverse of to_dict."""
        labels = d.get("labels")
        return cls(
            event_id=str(d["event_id"]),
            event_time=str(d["event_time"]),
            source=str(d.get("source", "STARTED")),
            complete=bool(d.get("complete", True)),
            xml=d.get("xml"),
            labels=None if labels is None else tuple(str(x) for x in labels),
            error=d.get("error"),
            dropped=d.get("dropped"),
        )


@dataclass(frozen=True, slots=True)
class Call:
    """Everything the pipeline knows about one call (one Chime transaction)."""

    transaction_id: str
    status: CallStatus = CallStatus.ACTIVE
    reason: str | None = None  # why FAILED / RECORDED_ONE_WAY / enqueued without ENDED
    streams: tuple[StreamState, ...] = ()  # sorted by stream_arn
    metadata: tuple[MetadataSnapshot, ...] = ()  # sorted by (event_time, event_id)
    invite_headers: dict[str, str] = field(default_factory=dict)
    update_headers: dict[str, str] = field(default_factory=dict)
    update_headers_time: str | None = None
    call_id: str | None = None
    voice_connector_id: str | None = None
    direction: str | None = None
    event_ids: frozenset[str] = frozenset()
    first_event_time: str | None = None
    first_ended_time: str | None = None  # event time of the first stream ENDED
    stream_failure: str | None = None  # a FAILED event seen after the job was queued
    attempt: int = 0  # how many recording jobs were sent
    resends: int = 0  # jobs the sweeper sent again because nobody took the last (not failures)
    manifest_key: str | None = None
    checkpoint: dict[str, Any] | None = None
    updated_at: str = ""  # set by the store at each write (wall clock, for the sweeper)
    version: int = 0  # optimistic-concurrency counter, set by the store

    @property
    def terminal(self) -> bool:
        """Recorded or failed: nothing may change the status any more."""
        return self.status in TERMINAL

    def stream(self, stream_arn: str) -> StreamState | None:
        """The stream with this ARN, if known."""
        for s in self.streams:
            if s.stream_arn == stream_arn:
                return s
        return None

    def with_stream(self, stream: StreamState) -> Call:
        """A copy with this stream added or replaced (streams stay sorted)."""
        others = [s for s in self.streams if s.stream_arn != stream.stream_arn]
        others.append(stream)
        return replace(self, streams=tuple(sorted(others, key=lambda s: s.stream_arn)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the table stores)."""
        return {
            "transaction_id": self.transaction_id,
            "status": self.status.value,
            "reason": self.reason,
            "streams": [s.to_dict() for s in self.streams],
            "metadata": [m.to_dict() for m in self.metadata],
            "invite_headers": dict(self.invite_headers),
            "update_headers": dict(self.update_headers),
            "update_headers_time": self.update_headers_time,
            "call_id": self.call_id,
            "voice_connector_id": self.voice_connector_id,
            "direction": self.direction,
            "event_ids": sorted(self.event_ids),
            "first_event_time": self.first_event_time,
            "first_ended_time": self.first_ended_time,
            "stream_failure": self.stream_failure,
            "attempt": self.attempt,
            "resends": self.resends,
            "manifest_key": self.manifest_key,
            "checkpoint": self.checkpoint,
            "updated_at": self.updated_at,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Call:
        """Inverse of to_dict; refuses a record without a transaction id or with a bad status."""
        try:
            status = CallStatus(d.get("status", "ACTIVE"))
            tid = str(d["transaction_id"])
        except (KeyError, ValueError) as exc:
            raise EventError(f"stored call record is invalid: {type(exc).__name__}") from None
        return cls(
            transaction_id=tid,
            status=status,
            reason=d.get("reason"),
            streams=tuple(StreamState.from_dict(s) for s in d.get("streams", ())),
            metadata=tuple(MetadataSnapshot.from_dict(m) for m in d.get("metadata", ())),
            invite_headers=dict(d.get("invite_headers") or {}),
            update_headers=dict(d.get("update_headers") or {}),
            update_headers_time=d.get("update_headers_time"),
            call_id=d.get("call_id"),
            voice_connector_id=d.get("voice_connector_id"),
            direction=d.get("direction"),
            event_ids=frozenset(d.get("event_ids", ())),
            first_event_time=d.get("first_event_time"),
            first_ended_time=d.get("first_ended_time"),
            stream_failure=d.get("stream_failure"),
            attempt=int(d.get("attempt", 0)),
            resends=int(d.get("resends", 0)),
            manifest_key=d.get("manifest_key"),
            checkpoint=d.get("checkpoint"),
            updated_at=str(d.get("updated_at", "")),
            version=int(d.get("version", 0)),
        )


@dataclass(frozen=True, slots=True)
class EnqueueRecording:
    """Effect: send the recording job for this call (after the state write succeeded)."""

    transaction_id: str
    attempt: int


Effect = EnqueueRecording


@dataclass(frozen=True, slots=True)
class RecordingJob:
    """The SQS message body the recorder receives: `{"transaction_id": ..., "attempt": n}`."""

    transaction_id: str
    attempt: int

    def to_body(self) -> str:
        """The message body (JSON)."""
        return json.dumps({"transaction_id": self.transaction_id, "attempt": self.attempt})

    @classmethod
    def from_body(cls, body: str) -> RecordingJob:
        """Parse a message body; EventError with a one-line reason when it is not a job."""
        if len(body) > 4096:
            raise EventError(f"recording job body is {len(body)} characters (max 4096)")
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            raise EventError("recording job body is not JSON") from None
        tid = data.get("transaction_id") if isinstance(data, dict) else None
        attempt = data.get("attempt") if isinstance(data, dict) else None
        if not isinstance(tid, str) or not _TXN.fullmatch(tid):
            raise EventError("recording job has no valid transaction_id")
        if not isinstance(attempt, int) or isinstance(attempt, bool) or not 1 <= attempt <= 1000:
            raise EventError("recording job has no valid attempt (1..1000)")
        return cls(tid, attempt)
