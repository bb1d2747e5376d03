"""The SIPREC metadata model: plain frozen dataclasses that every dialect parses into.

Values are kept as the recording client sent them (aor as given, times as ISO strings) so that
nothing is lost or guessed here; `warnings` says what the parser had to repair or assume.
Participants' `sends`/`recvs` are stream *labels* (the `a=label` of the SDP m-line), because the
label is what Chime reports per KVS stream (`sdp.mediaLabel`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal["rfc7865", "draft", "broadworks"]
DataMode = Literal["complete", "partial"]


@dataclass(frozen=True, slots=True)
class Participant:
    """One party of the recorded call (RFC 7865 `<participant>`)."""

    id: str
    aor: str | None = None
    name: str | None = None
    sends: tuple[str, ...] = ()
    recvs: tuple[str, ...] = ()
    associate_time: str | None = None
    disassociate_time: str | None = None
    extension: dict[str, str] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples become lists)."""
        return {
            "id": self.id,
            "aor": self.aor,
            "name": self.name,
            "sends": list(self.sends),
            "recvs": list(self.recvs),
            "associate_time": self.associate_time,
            "disassociate_time": self.disassociate_time,
            "extension": dict(self.extension),
        }


@dataclass(frozen=True, slots=True)
class Stream:
    """One recorded media stream (`<stream>`); `label` matches the SDP `a=label`."""

    id: str
    label: str | None = None
    session: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "label": self.label, "session": self.session}


@dataclass(frozen=True, slots=True)
class Session:
    """One communication session (`<session>`); times fall back to associate times."""

    id: str
    sip_session_id: str | None = None
    start_time: str | None = None
    stop_time: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "sip_session_id": self.sip_session_id,
            "start_time": self.start_time,
            "stop_time": self.stop_time,
        }


@dataclass(frozen=True, slots=True)
class SdpMedia:
    """One m-line of the SDP that came with the metadata (when the input had one)."""

    index: int
    label: str | None
    direction: str | None  # sendonly / recvonly / sendrecv / inactive, None if not given
    port: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "index": self.index,
            "label": self.label,
            "direction": self.direction,
            "port": self.port,
        }


@dataclass(frozen=True, slots=True)
class RecordingMetadata:
    """A parsed metadata snapshot, plus the SIP headers and SDP that came with it.

    `extension` holds document-level extension data (session, group, recording, top-level
    `extensiondata`) flattened to local name -> text; `extension_ns` keeps each key's namespace.
    Participant-level extension data is on each Participant.
    """

    format: Format
    data_mode: DataMode
    sessions: tuple[Session, ...] = ()
    participants: tuple[Participant, ...] = ()
    streams: tuple[Stream, ...] = ()
    extension: dict[str, str] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict, hash=False)
    raw_xml: str = ""
    extension_ns: dict[str, str] = field(default_factory=dict, hash=False)
    sdp: tuple[SdpMedia, ...] = ()

    def stream_by_label(self, label: str) -> Stream | None:
        """The first stream with this label, if any."""
        for stream in self.streams:
            if stream.label == label:
                return stream
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of everything (raw_xml included)."""
        return {
            "format": self.format,
            "data_mode": self.data_mode,
            "sessions": [s.to_dict() for s in self.sessions],
            "participants": [p.to_dict() for p in self.participants],
            "streams": [s.to_dict() for s in self.streams],
            "extension": dict(self.extension),
            "extension_ns": dict(self.extension_ns),
            "warnings": list(self.warnings),
            "headers": dict(self.headers),
            "sdp": [m.to_dict() for m in self.sdp],
            "raw_xml": self.raw_xml,
        }
