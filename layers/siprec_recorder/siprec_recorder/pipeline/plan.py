"""From the stored call to a recording plan: who sent which stream, roles, ids, time range.

Pure: the call record (events folded by `calls.lifecycle`) and the SIPREC snapshots in it are
all it reads. Anything it has to guess becomes a warning in the manifest, never an exception:
a call with unreadable metadata is still recorded, by stream, with roles `unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from siprec_recorder.calls.model import Call, StreamState
from siprec_recorder.errors import RecorderError
from siprec_recorder.metadata.correlate import (
    agent_pattern_error,
    caller_flags,
    expected_labels,
    matched_stream,
    merge,
    role_of,
    stream_owner,
)
from siprec_recorder.metadata.interaction import call_ids, find_interaction_id
from siprec_recorder.metadata.model import Participant, RecordingMetadata
from siprec_recorder.metadata.parse import parse_metadata
from siprec_recorder.recording.model import CallFacts
from siprec_recorder.recording.timeline import build_timeline

MAX_LABEL = 256  # what the manifest (and an SDP a=label in practice) allows


@dataclass
class PlannedStream:
    """One stream the recording must contain (declared by SIPREC or seen as STARTED)."""

    label: str
    stream: StreamState | None  # None: declared in the metadata but never started
    participant: Participant | None
    role: str
    is_caller: bool | None


@dataclass
class CallPlan:
    """What the recorder does for one call."""

    facts: CallFacts
    streams: list[PlannedStream]
    start_ms: int  # producer-time range to list fragments in
    end_ms: int | None
    metadata: RecordingMetadata | None = None
    warnings: list[str] = field(default_factory=list)


def parse_time(value: str | None) -> datetime | None:
    """ISO-8601 (with Z) to an aware UTC datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def merged_metadata(
    call: Call, warnings: list[str]
) -> tuple[RecordingMetadata | None, list[tuple[datetime, RecordingMetadata]]]:
    """The current metadata and every snapshot as parsed (for the timeline).

    A complete snapshot replaces the state and a partial one is merged into it, so after a
    transfer the stream's sender is the agent who has it now; the timeline, built from the
    snapshots themselves, keeps who had it before and when."""
    current: RecordingMetadata | None = None
    snapshots: list[tuple[datetime, RecordingMetadata]] = []
    for snap in sorted(call.metadata, key=lambda s: s.sort_key()):
        if snap.xml is None:
            warnings.append(f"metadata from {snap.source} event was not kept: {snap.dropped}")
            continue
        headers = call.invite_headers if snap.source == "STARTED" else call.update_headers
        try:
            meta = parse_metadata(snap.xml, headers=headers)
        except RecorderError as exc:
            warnings.append(f"metadata from {snap.source} event unusable: {exc}")
            continue
        warnings.extend(meta.warnings)
        if current is None or meta.data_mode == "complete":
            current = meta
        else:
            current = merge(current, meta)
        when = parse_time(snap.event_time) or datetime.fromtimestamp(0, UTC)
        snapshots.append((when, meta))
    return current, snapshots


def _label_of(stream: StreamState, meta: RecordingMetadata | None) -> str:
    if stream.media_label:
        return stream.media_label
    if meta is not None and stream.media_index is not None:
        # the m-line index is SDP order, which may differ from the XML's stream order
        for media in meta.sdp:
            if media.index == stream.media_index and media.label:
                return media.label
        if not meta.sdp and 0 <= stream.media_index < len(meta.streams):
            label = meta.streams[stream.media_index].label
            if label:
                return label
    if stream.media_index is not None:
        return f"m{stream.media_index}"
    return stream.stream_arn.rsplit("/", 2)[-2][-12:]


def plan_call(call: Call, *, agent_aor_pattern: str | None = None) -> CallPlan:
    """Correlate the call's streams with its SIPREC participants and build the CallFacts."""
    warnings: list[str] = []
    pattern_error = agent_pattern_error(agent_aor_pattern)
    if pattern_error is not None:
        # a deployment typo must not fail every call: roles then come from Chime's isCaller
        warnings.append(f"AGENT_AOR_PATTERN ignored: {pattern_error}")
        agent_aor_pattern = None
    meta, snapshots = merged_metadata(call, warnings)
    headers = {**call.invite_headers, **call.update_headers}

    streams_by_label: dict[str, StreamState] = {}
    for s in call.streams:
        label = _label_of(s, meta)
        if label in streams_by_label:
            warnings.append(f"two KVS streams report label {label}; keeping both under new names")
            label = f"{label}-{len(streams_by_label)}"
        streams_by_label[label] = s

    # every label any snapshot says someone sends (the call state waits for the same union)
    declared: list[str] = []
    for view in ([meta] if meta is not None else []) + [m for _, m in snapshots]:
        declared += [label for label in expected_labels(view) if label not in declared]
    too_long = [label for label in declared if len(label) > MAX_LABEL]
    if too_long:  # hostile or broken metadata must not fail the call: record by stream instead
        warnings.append(
            f"{len(too_long)} SIPREC stream label(s) over {MAX_LABEL} characters ignored"
        )
        declared = [label for label in declared if len(label) <= MAX_LABEL]
    replaced: dict[str, str] = {}  # metadata label -> the SDP label that arrived for it
    if meta is not None:
        replaced = _replace_disagreeing_labels(meta, streams_by_label, declared, warnings)
    labels = list(declared) + sorted(set(streams_by_label) - set(declared))
    if meta is None and call.metadata:
        warnings.append("no usable SIPREC metadata: streams recorded without participants")
    if call.stream_failure:  # a FAILED event that came after the call was queued
        warnings.append(f"Chime reported a stream failure: {call.stream_failure}")

    flags: dict[str, bool | None] = {}
    if meta is not None:
        known = [
            (lbl, s.is_caller) for lbl, s in streams_by_label.items() if s.is_caller is not None
        ]
        lbl, flag = known[0] if known else (None, None)
        flags = caller_flags(meta, caller_label=lbl, is_caller=flag)

    planned: list[PlannedStream] = []
    role_by_label: dict[str, str] = {}
    for label in labels:
        stream = streams_by_label.get(label)
        owner: Participant | None = None
        if meta is not None:
            index = stream.media_index if stream is not None else None
            owner, notes = stream_owner(meta, label, index)
            warnings.extend(notes)
        is_caller = stream.is_caller if stream is not None else None
        if is_caller is None and owner is not None:
            is_caller = flags.get(owner.id)
        role = role_of(
            owner,
            is_caller=is_caller,
            direction=call.direction,
            agent_aor_pattern=agent_aor_pattern or None,
        )
        role_by_label[label] = role
        planned.append(PlannedStream(label, stream, owner, role, is_caller))

    # Roles follow the stream: whoever sent a label at any time (a transferred-away agent
    # included) has that stream's role in the timeline.
    roles: dict[str, str] = {}
    for _when, snapshot in snapshots:
        for participant in snapshot.participants:
            for sent in participant.sends:
                sent = replaced.get(sent, sent)
                if sent in role_by_label:
                    roles.setdefault(participant.id, role_by_label[sent])

    starts = [t for s in call.streams if (t := parse_time(s.start_time))]
    ends = [t for s in call.streams if (t := parse_time(s.end_time))]
    start = min(starts) if starts else parse_time(call.first_event_time) or datetime.now(UTC)
    end = max(ends) if ends else None

    found = find_interaction_id(meta, headers)
    facts = CallFacts(
        transaction_id=call.transaction_id,
        call_id=call.call_id,
        voice_connector_id=call.voice_connector_id,
        interaction_id=found.value if found else None,
        interaction_id_source=found.source if found else None,
        call_ids=call_ids(meta, headers),
        start_time=start,
        end_time=end,
        declared_labels=list(declared) if meta is not None else sorted(streams_by_label),
        warnings=_unique(warnings),
        siprec_xml=meta.raw_xml if meta is not None else None,
        chime_events=[chime_facts(call)],
        timeline=build_timeline(snapshots, end, roles=roles) if snapshots else [],
    )
    return CallPlan(
        facts=facts,
        streams=planned,
        start_ms=_to_ms(start),
        end_ms=_to_ms(end) if end else None,
        metadata=meta,
        warnings=facts.warnings,
    )


def _replace_disagreeing_labels(
    meta: RecordingMetadata,
    streams_by_label: dict[str, StreamState],
    declared: list[str],
    warnings: list[str],
) -> dict[str, str]:
    """An arrived stream whose SDP label the metadata does not know stands for the metadata
    stream it matches (by m-line): it takes that label's place among the declared ones, so the
    declared label is not also reported as a missing party."""
    replaced: dict[str, str] = {}
    for label, stream in streams_by_label.items():
        if label in declared:
            continue
        xml = matched_stream(meta, label, stream.media_index)
        if xml is None or xml.label is None:
            continue
        if xml.label in declared and xml.label not in streams_by_label:
            declared[declared.index(xml.label)] = label
            replaced[xml.label] = label
            warnings.append(f"SDP label {label[:48]} used for metadata label {xml.label[:48]}")
    return replaced


def chime_facts(call: Call) -> dict[str, Any]:
    """What Chime told us about the call, without phone numbers (they were never stored)."""
    return {
        "transactionId": call.transaction_id,
        "callId": call.call_id,
        "voiceConnectorId": call.voice_connector_id,
        "direction": call.direction,
        "streams": [s.to_dict() for s in call.streams],
    }


def _unique(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
