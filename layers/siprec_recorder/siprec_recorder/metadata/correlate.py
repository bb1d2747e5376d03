"""Who is on which stream: label -> participant, roles, and partial-update merging.

Real SRCs leave associations empty (cisco_2) or out (opensips_1); then streams are matched to
participants by document order, and every guess is reported as a warning so the manifest can
say how a recording was attributed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from typing import Literal

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.model import Participant, RecordingMetadata, Session, Stream
from siprec_recorder.metadata.sip import HeaderMap

Role = Literal["customer", "agent", "unknown"]
_CALLER_ROLES = {"calling": True, "caller": True, "called": False, "callee": False}


def _senders(meta: RecordingMetadata) -> dict[str, list[Participant]]:
    """stream id -> participants that declare sending it (through its label)."""
    by_label: dict[str, list[str]] = {}
    for stream in meta.streams:
        if stream.label is not None:
            by_label.setdefault(stream.label, []).append(stream.id)
    senders: dict[str, list[Participant]] = {s.id: [] for s in meta.streams}
    for part in meta.participants:
        for label in part.sends:
            for sid in by_label.get(label, ()):
                senders[sid].append(part)
    return senders


def owners(meta: RecordingMetadata) -> tuple[dict[str, Participant | None], dict[str, str]]:
    """stream id -> owner (None for a mixed or unattributable stream), and per-stream warnings.

    Streams nobody sends are paired, in document order, with participants that send nothing.
    """
    senders = _senders(meta)
    result: dict[str, Participant | None] = {}
    notes: dict[str, str] = {}
    for sid, parts in senders.items():
        if len(parts) == 1:
            result[sid] = parts[0]
        elif len(parts) > 1:
            result[sid] = None
            notes[sid] = f"stream {_name(meta, sid)} is sent by {len(parts)} participants (mixed)"
    orphans = [s for s in meta.streams if not senders[s.id]]
    silent = [p for p in meta.participants if not p.sends]
    position = {p.id: n for n, p in enumerate(meta.participants, start=1)}
    for n, stream in enumerate(orphans):
        if n < len(silent):
            result[stream.id] = silent[n]
            pos = position[silent[n].id]
            notes[stream.id] = (
                f"no send association for stream {_name(meta, stream.id)}; "
                f"matched to participant #{pos} by document order"
            )
        else:
            result[stream.id] = None
            notes[stream.id] = f"no participant sends stream {_name(meta, stream.id)}"
    return result, notes


def _name(meta: RecordingMetadata, sid: str) -> str:
    for stream in meta.streams:
        if stream.id == sid:
            return f"label {stream.label}" if stream.label is not None else f"id {sid[:48]}"
    return f"id {sid[:48]}"


def _find_stream(
    meta: RecordingMetadata, media_label: str | None, media_index: int | None, notes: list[str]
) -> Stream | None:
    stream = meta.stream_by_label(media_label) if media_label else None
    if media_label and stream is None:
        notes.append(f"media label {media_label[:48]} is not in the metadata")
    sdp_label = None
    if media_index is not None and 0 <= media_index < len(meta.sdp):
        sdp_label = meta.sdp[media_index].label
    if stream is not None:
        if sdp_label is not None and sdp_label != media_label:
            notes.append(
                f"media label {media_label} disagrees with the SDP m-line {media_index} "
                f"label {sdp_label}; used the media label"
            )
        return stream
    if media_index is None:
        return None
    if sdp_label is not None and meta.stream_by_label(sdp_label) is not None:
        notes.append(f"used the label {sdp_label} of SDP m-line {media_index}")
        return meta.stream_by_label(sdp_label)
    if 0 <= media_index < len(meta.streams):
        notes.append(f"matched m-line {media_index} to the metadata's stream order")
        return meta.streams[media_index]
    notes.append(f"m-line index {media_index} is out of range")
    return None


def matched_stream(
    meta: RecordingMetadata, media_label: str | None, media_index: int | None
) -> Stream | None:
    """The metadata's stream that Chime's `mediaLabel`/`mediaIndex` stands for (as stream_owner
    finds it), or None."""
    return _find_stream(meta, media_label, media_index, [])


def stream_owner(
    meta: RecordingMetadata, media_label: str | None, media_index: int | None
) -> tuple[Participant | None, list[str]]:
    """The participant that sends the stream Chime reports as `mediaLabel`/`mediaIndex`."""
    notes: list[str] = []
    if media_label is not None and not isinstance(media_label, str):
        media_label = str(media_label)  # a label that came through JSON as a number
    stream = _find_stream(meta, media_label, media_index, notes)
    if stream is None:
        return None, notes
    result, stream_notes = owners(meta)
    if stream.id in stream_notes:
        notes.append(stream_notes[stream.id])
    return result.get(stream.id), notes


def expected_labels(meta: RecordingMetadata) -> list[str]:
    """Labels of the streams some participant sends (or is matched to): what the call delivers."""
    result, _ = owners(meta)
    senders = _senders(meta)
    labels: list[str] = []
    for stream in meta.streams:
        attributed = result.get(stream.id) is not None or len(senders[stream.id]) > 1
        if attributed and stream.label is not None and stream.label not in labels:
            labels.append(stream.label)
    return labels


def agent_pattern_error(pattern: str | None) -> str | None:
    """Why a configured agent aor pattern cannot be used; None when it can (or is empty)."""
    if not pattern:
        return None
    try:
        _pattern(pattern)
    except MetadataError as exc:
        return str(exc)
    return None


@functools.lru_cache(maxsize=16)
def _pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except (re.error, OverflowError, RecursionError):  # 'a{99999999999}' overflows, not re.error
        raise MetadataError("agent aor pattern is not a valid regular expression") from None


def role_of(
    participant: Participant | None,
    *,
    is_caller: bool | None,
    direction: str | None,
    agent_aor_pattern: str | None = None,
) -> Role:
    """customer / agent / unknown.

    An aor matching `agent_aor_pattern` (regex search, any case) is an agent whatever Chime says.
    Otherwise, on an Inbound call the caller is the customer; on an Outbound call, the callee.
    """
    if participant is not None and agent_aor_pattern and participant.aor:
        if _pattern(agent_aor_pattern).search(participant.aor):
            return "agent"
    if is_caller is None or not direction:
        return "unknown"
    kind = direction.strip().lower()
    if kind == "inbound":
        return "customer" if is_caller else "agent"
    if kind == "outbound":
        return "agent" if is_caller else "customer"
    return "unknown"


def caller_flags(
    meta: RecordingMetadata, *, caller_label: str | None = None, is_caller: bool | None = None
) -> dict[str, bool | None]:
    """participant id -> is-caller, from Chime's per-stream `isCaller` or the SRC's own hint.

    With Chime's flag for one stream, its owner gets it and, in a two-party call, the other
    party the opposite. Without it, the SRC's own hint is used: Oracle's `callingParty`
    extension, or a `role` of calling/called (Intrado).
    """
    flags: dict[str, bool | None] = {p.id: None for p in meta.participants}
    if caller_label is not None and is_caller is not None:
        owner, _ = stream_owner(meta, caller_label, None)
        if owner is not None:
            flags[owner.id] = is_caller
            if len(meta.participants) == 2:
                other = next(p for p in meta.participants if p.id != owner.id)
                flags[other.id] = not is_caller
            return flags
    for part in meta.participants:
        hint = part.extension.get("callingParty", "").strip().lower()
        role = part.extension.get("role", "").strip().lower()  # Intrado's <role>
        if hint in ("true", "false"):
            flags[part.id] = hint == "true"
        elif role in _CALLER_ROLES:
            flags[part.id] = _CALLER_ROLES[role]
    return flags


def _merge_participant(old: Participant, new: Participant) -> Participant:
    return replace(
        old,
        aor=new.aor or old.aor,
        name=new.name or old.name,
        sends=old.sends + tuple(x for x in new.sends if x not in old.sends),
        recvs=old.recvs + tuple(x for x in new.recvs if x not in old.recvs),
        associate_time=old.associate_time or new.associate_time,
        disassociate_time=new.disassociate_time or old.disassociate_time,
        extension={**old.extension, **new.extension},
    )


def _merge_session(old: Session, new: Session) -> Session:
    return replace(
        old,
        sip_session_id=old.sip_session_id or new.sip_session_id,
        start_time=old.start_time or new.start_time,
        stop_time=new.stop_time or old.stop_time,
    )


def _relabel(part: Participant, streams: dict[str, Stream]) -> Participant:
    """A partial snapshot's references to earlier streams (kept as ids) -> their labels."""
    labels = {s.label for s in streams.values() if s.label is not None}

    def fix(refs: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for ref in refs:
            label = ref if ref in labels else streams[ref].label if ref in streams else ref
            if label is not None and label not in out:
                out.append(label)
        return tuple(out)

    return replace(part, sends=fix(part.sends), recvs=fix(part.recvs))


def merge(complete: RecordingMetadata, partial: RecordingMetadata) -> RecordingMetadata:
    """Apply a later snapshot (usually dataMode partial, from an UPDATED event) to the first one.

    Participants and streams are matched by id; new ones are appended; a participant keeps the
    join time it had and takes a leave time when the update brings one; labels once sent stay
    expected (no audio is dropped because an update forgot a stream).
    """
    streams = {s.id: s for s in complete.streams}
    for stream in partial.streams:
        old_stream = streams.get(stream.id)
        streams[stream.id] = (
            replace(old_stream, label=stream.label or old_stream.label) if old_stream else stream
        )
    parts = {p.id: p for p in complete.participants}
    for part in partial.participants:
        part = _relabel(part, streams)
        parts[part.id] = _merge_participant(parts[part.id], part) if part.id in parts else part
    sessions = {s.id: s for s in complete.sessions}
    for session in partial.sessions:
        old = sessions.get(session.id)
        sessions[session.id] = _merge_session(old, session) if old else session
    warnings = list(complete.warnings)
    warnings += [w for w in partial.warnings if w not in warnings]
    return replace(
        complete,
        sessions=tuple(sessions.values()),
        participants=tuple(parts.values()),
        streams=tuple(streams.values()),
        extension={**complete.extension, **partial.extension},
        extension_ns={**complete.extension_ns, **partial.extension_ns},
        warnings=tuple(warnings),
        headers=HeaderMap(complete.headers).merged(partial.headers).as_dict(),
        sdp=partial.sdp or complete.sdp,
    )
