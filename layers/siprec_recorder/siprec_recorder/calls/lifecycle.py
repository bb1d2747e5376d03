"""Pure call transitions: (call, input) -> (call, effects). No clock, no I/O.

Rules (why the state is right whatever order EventBridge delivers in):
- an event id already seen changes nothing (idempotent redelivery);
- stream fields from a STARTED event win, ENDED/FAILED only fill gaps (end fields excepted), and
  a stream's status only moves forward (STARTED < ENDED < FAILED), so ENDED-before-STARTED merges;
- metadata snapshots are deduplicated by body and ordered by (event time, event id);
- the call is ready when every expected stream has ENDED; expected = every SIPREC stream label
  some participant sends in any snapshot (a union: order-free, nothing announced is forgotten),
  else every stream seen (each seen STARTED, so no metadata was missed) and, when Chime says
  which side a stream is (isCaller), both sides;
- ready -> QUEUED plus one EnqueueRecording; the store writes the status change before the effect
  runs, so the status transition is the guard against a second job;
- terminal states (RECORDED, RECORDED_ONE_WAY, FAILED) are final.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from siprec_recorder.calls.events import StreamingStatusEvent, iso
from siprec_recorder.calls.model import (
    STREAM_ENDED,
    STREAM_FAILED,
    STREAM_STARTED,
    Call,
    CallStatus,
    EnqueueRecording,
    MetadataSnapshot,
    StreamState,
)
from siprec_recorder.errors import EventError, RecorderError

_RANK = {STREAM_STARTED: 0, STREAM_ENDED: 1, STREAM_FAILED: 2}
_PARTIAL = re.compile(r"<(?:[\w.-]{1,64}:)?datamode\s*>\s*partial\s*<", re.IGNORECASE)
MAX_EVENT_IDS = 1000
MAX_SNAPSHOTS = 50
MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class LabelsResult:
    """What the metadata reader found: expected labels (None: unreadable) and why not."""

    labels: tuple[str, ...] | None
    complete: bool
    error: str | None = None


LabelsReader = Callable[[str, Mapping[str, str]], LabelsResult]
Transition = tuple[Call, list[EnqueueRecording]]


def read_labels(xml: str, headers: Mapping[str, str]) -> LabelsResult:
    """Parse SIPREC metadata (lazily: lxml loads only here) and list the labels someone sends."""
    from siprec_recorder.metadata.correlate import expected_labels as sent_labels
    from siprec_recorder.metadata.parse import parse_metadata

    complete = _PARTIAL.search(xml[:4096]) is None
    try:
        meta = parse_metadata(xml, headers=dict(headers))
        labels = sent_labels(meta)
    except RecorderError as exc:
        return LabelsResult(None, complete, exc.code)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the call's state
        return LabelsResult(None, complete, f"metadata_parser_failed: {type(exc).__name__}")
    return LabelsResult(tuple(sorted(labels)), meta.data_mode == "complete")


def apply_event(
    call: Call | None, event: StreamingStatusEvent, reader: LabelsReader = read_labels
) -> Transition:
    """Fold one streaming status event into the call (a new call when None)."""
    tid = event.transaction_id
    if call is None:
        call = Call(transaction_id=tid)
    elif call.transaction_id != tid:
        raise EventError("event transaction id does not match the call")
    if event.id in call.event_ids:
        return call, []
    if len(call.event_ids) >= MAX_EVENT_IDS:
        raise EventError(f"call has {MAX_EVENT_IDS} events already; refusing more")
    d = event.detail
    when = iso(event.time) or ""
    call = replace(
        call,
        event_ids=call.event_ids | {event.id},
        first_event_time=_min(call.first_event_time, when),
        call_id=call.call_id or d.call_id,
        voice_connector_id=call.voice_connector_id or d.voice_connector_id,
        direction=call.direction or d.direction,
    )
    status = d.streaming_status
    if d.siprec_metadata:
        headers = d.update_headers if status == "UPDATED" else d.invite_headers
        call = _add_snapshot(call, event, when, headers or {}, reader)
    if d.invite_headers:
        merged = dict(d.invite_headers)
        merged.update(call.invite_headers)  # the first value seen for a header stays
        call = replace(call, invite_headers=merged)
    if status == "UPDATED" and d.update_headers is not None:
        key = f"{when}#{event.id}"
        if call.update_headers_time is None or key > call.update_headers_time:
            call = replace(call, update_headers=dict(d.update_headers), update_headers_time=key)
    if d.stream_arn:
        call = call.with_stream(_merge_stream(call.stream(d.stream_arn), event))
    if status == "ENDED":
        ended = iso(d.end_time) or when
        call = replace(call, first_ended_time=_min(call.first_ended_time, ended))
    if status == "FAILED":
        call = _failed(call, f"stream_failed: {d.failure_reason or 'unknown'}")
    return advance(call)


def _failed(call: Call, reason: str) -> Call:
    reason = " ".join(reason.split())[:MAX_REASON]
    if call.terminal:
        return call
    if call.status in (CallStatus.QUEUED, CallStatus.RECORDING):
        # the recorder already owns it: keep what was streamed, let it decide
        return replace(call, stream_failure=reason)
    return replace(call, status=CallStatus.FAILED, reason=reason)


def _merge_stream(old: StreamState | None, event: StreamingStatusEvent) -> StreamState:
    d = event.detail
    status = d.streaming_status
    arn = d.stream_arn or ""
    s = old or StreamState(stream_arn=arn, status=status if status in _RANK else STREAM_STARTED)
    start = {
        "start_fragment_number": d.start_fragment_number,
        "start_time": iso(d.start_time),
        "is_caller": d.is_caller,
        "media_index": d.sdp.media_index if d.sdp else None,
        "media_label": d.sdp.media_label if d.sdp else None,
    }
    changes: dict[str, Any] = {}
    for name, value in start.items():
        if value is not None and (status == "STARTED" or getattr(s, name) is None):
            changes[name] = value
    end = {
        "current_fragment_number": d.current_fragment_number,
        "end_time": iso(d.end_time) or (iso(d.fail_time) if status == "FAILED" else None),
    }
    for name, value in end.items():
        if value is not None and (status == "ENDED" or getattr(s, name) is None):
            changes[name] = value
    if status in _RANK and _RANK[status] > _RANK.get(s.status, 0):
        changes["status"] = status
    if status in _RANK:
        changes["seen"] = tuple(sorted(set(s.seen) | {status}))
    return replace(s, **changes)


def _add_snapshot(
    call: Call,
    event: StreamingStatusEvent,
    when: str,
    headers: Mapping[str, str],
    reader: LabelsReader,
) -> Call:
    xml = event.detail.siprec_metadata or ""
    snap_key = (when, event.id)
    kept = []
    for m in call.metadata:
        if m.xml == xml:
            if m.sort_key() <= snap_key:
                return call  # the same body is already there, from an earlier event
            continue  # replaced by this earlier copy
        kept.append(m)
    if len(kept) >= MAX_SNAPSHOTS:
        raise EventError(f"call has {MAX_SNAPSHOTS} metadata snapshots already; refusing more")
    result = reader(xml, headers)
    snap = MetadataSnapshot(
        event_id=event.id,
        event_time=when,
        source="UPDATED" if event.status == "UPDATED" else "STARTED",
        complete=result.complete,
        xml=xml,
        labels=result.labels,
        error=result.error,
    )
    kept.append(snap)
    return replace(call, metadata=tuple(sorted(kept, key=MetadataSnapshot.sort_key)))


def expected_labels(call: Call) -> frozenset[str] | None:
    """Every label any snapshot says someone sends; None without readable metadata.

    A union, not "latest complete + later partials": event times have one-second resolution,
    so a re-INVITE's update can sort before the INVITE's snapshot, and a label once announced
    must not be forgotten (a leg that never streams is handled by the sweeper's grace period).
    """
    labels: set[str] = set()
    for m in call.metadata:
        labels.update(m.labels or ())
    return frozenset(labels) or None


def missing_labels(call: Call) -> frozenset[str]:
    """Expected labels no ended stream carries (empty without metadata)."""
    expected = expected_labels(call)
    if not expected:
        return frozenset()
    have = {s.media_label for s in call.streams if s.media_label and s.status != STREAM_STARTED}
    if not any(s.media_label for s in call.streams):
        # streams carry no labels: count them instead
        ended = sum(1 for s in call.streams if s.status != STREAM_STARTED)
        return frozenset() if ended >= len(expected) else frozenset(sorted(expected)[ended:])
    missing = expected - have
    # SDP labels the metadata does not declare stand for declared ones (an SRC whose XML and
    # SDP labels disagree): the recorder matches them by m-line, so do not wait for the rest
    if len(have - expected) >= len(missing):
        return frozenset()
    return missing


def is_ready(call: Call) -> bool:
    """Every started stream ended and every expected stream is there."""
    if not call.streams or any(s.status == STREAM_STARTED for s in call.streams):
        return False
    if expected_labels(call):
        return not missing_labels(call)
    if not all(STREAM_STARTED in s.seen for s in call.streams):
        return False
    # no metadata: Chime streams both sides of a call; with only the caller (or only the callee)
    # seen, the other leg is still expected (the sweeper's grace period ends the wait)
    sides = {s.is_caller for s in call.streams if s.is_caller is not None}
    return len(sides) != 1


def advance(call: Call) -> Transition:
    """Recompute ACTIVE/ENDED and enqueue once when ready."""
    if call.terminal or call.status in (CallStatus.QUEUED, CallStatus.RECORDING):
        return call, []
    if is_ready(call):
        return _enqueue(call, call.reason)
    any_ended = any(s.status != STREAM_STARTED for s in call.streams)
    status = CallStatus.ENDED if any_ended else CallStatus.ACTIVE
    return replace(call, status=status), []


def _enqueue(call: Call, reason: str | None) -> Transition:
    attempt = call.attempt + 1
    queued = replace(call, status=CallStatus.QUEUED, attempt=attempt, reason=reason)
    return queued, [EnqueueRecording(call.transaction_id, attempt)]


def _min(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


# --- the sweeper's transitions -------------------------------------------------------------


def end_streams(call: Call, ended: Mapping[str, str | None], reason: str) -> Transition:
    """Treat these streams (ARN -> last fragment time) as ENDED and enqueue the call anyway."""
    if call.terminal or call.status in (CallStatus.QUEUED, CallStatus.RECORDING):
        return call, []
    for arn, end_time in sorted(ended.items()):
        s = call.stream(arn)
        if s is None or s.status != STREAM_STARTED:
            continue
        call = call.with_stream(replace(s, status=STREAM_ENDED, end_time=s.end_time or end_time))
    return force_enqueue(call, reason)


def force_enqueue(call: Call, reason: str) -> Transition:
    """Enqueue although an expected stream is missing (the recorder writes it one-way)."""
    if call.terminal or call.status in (CallStatus.QUEUED, CallStatus.RECORDING):
        return call, []
    if not call.streams:
        return replace(call, status=CallStatus.FAILED, reason="no_streams"), []
    return _enqueue(call, reason)


def retry_stuck(call: Call, max_attempts: int, max_resends: int = 48) -> Transition:
    """A job that never finished: send it again, or give up.

    A QUEUED job nobody took (its send failed, or it waits behind a backlog) is sent again as a
    new attempt, which makes the old message stale (never two copies of one attempt), but is no
    failure and uses up no retry: after `max_resends` of those (a day at the sweeper's half
    hour) the call fails as `recorder_never_took_job`. A RECORDING job the recorder took but
    never settled gets a new attempt, up to `max_attempts` failures.
    """
    if call.status == CallStatus.QUEUED:
        if call.resends >= max_resends:
            return replace(call, status=CallStatus.FAILED, reason="recorder_never_took_job"), []
        return _enqueue(replace(call, resends=call.resends + 1), call.reason)
    if call.status != CallStatus.RECORDING:
        return call, []
    # a long call's continuations (one per checkpoint that saved new streams) are attempts
    # too, but not failures: they do not use up the retries
    streams = (call.checkpoint or {}).get("streams")
    continued = len(streams) if isinstance(streams, dict) else 0
    if call.attempt >= max_attempts + continued + call.resends:
        return replace(call, status=CallStatus.FAILED, reason="recorder_never_finished"), []
    return _enqueue(call, call.reason)


# --- the recorder's transitions ------------------------------------------------------------

MAX_CHECKPOINT_CHARS = 64 * 1024
STARTED_WHILE_RECORDING = "stream_started_while_recording"
RECORDED_STATUSES = (CallStatus.RECORDED, CallStatus.RECORDED_ONE_WAY)


def claim_for_recording(call: Call, attempt: int, *, reclaim: bool = False) -> Call | None:
    """QUEUED -> RECORDING for the current job; None when the job is stale or done.

    `reclaim=True` lets the same attempt take a RECORDING call back (the queue redelivered the
    job after a recorder crashed).
    """
    if attempt != call.attempt:
        return None
    if call.status == CallStatus.QUEUED or (reclaim and call.status == CallStatus.RECORDING):
        return replace(call, status=CallStatus.RECORDING)
    return None


def requeue(call: Call) -> Transition:
    """RECORDING -> QUEUED with a new attempt: a long call continues from its checkpoint."""
    if call.status != CallStatus.RECORDING:
        raise EventError(f"cannot requeue a call in status {call.status.value}")
    return _enqueue(call, call.reason)


def save_checkpoint(call: Call, checkpoint: Mapping[str, Any]) -> Call:
    """Keep the recorder's opaque progress (JSON-ready, bounded) on the call."""
    import json

    if call.status != CallStatus.RECORDING:
        raise EventError(f"cannot checkpoint a call in status {call.status.value}")
    size = len(json.dumps(checkpoint, separators=(",", ":")))
    if size > MAX_CHECKPOINT_CHARS:
        raise EventError(f"checkpoint is {size} characters (max {MAX_CHECKPOINT_CHARS})")
    return replace(call, checkpoint=dict(checkpoint))


def mark_recorded(
    call: Call, status: CallStatus, manifest_key: str, reason: str | None = None
) -> Call:
    """The one terminal success; repeating the same outcome is a no-op."""
    if status not in RECORDED_STATUSES:
        raise EventError(f"{status} is not a recorded status")
    if call.terminal:
        if call.status == status and call.manifest_key == manifest_key:
            return call
        raise EventError(f"call is already {call.status.value}")
    return replace(call, status=status, manifest_key=manifest_key, reason=reason, checkpoint=None)


def finish_recording(
    call: Call,
    status: CallStatus,
    manifest_key: str,
    reason: str | None,
    planned: frozenset[str],
) -> Transition:
    """The recorder's end: RECORDED / RECORDED_ONE_WAY, unless a stream it did not plan for
    (`planned`: the streams that had ended when it took the call) started meanwhile. Then the
    recording lacks that stream's audio: the call waits for it again (ACTIVE/ENDED) and is
    queued for a new recording once every stream has ended, as any call is.
    """
    if call.status == CallStatus.RECORDING and {s.stream_arn for s in call.streams} - planned:
        waiting = replace(call, status=CallStatus.ENDED, checkpoint=None)
        return advance(replace(waiting, reason=STARTED_WHILE_RECORDING))
    return mark_recorded(call, status, manifest_key, reason), []


def mark_failed(call: Call, reason: str) -> Call:
    """The one terminal failure; repeating it is a no-op, failing a recorded call is refused."""
    reason = " ".join(reason.split())[:MAX_REASON] or "unknown"
    if call.terminal:
        if call.status == CallStatus.FAILED:
            return call
        raise EventError(f"call is already {call.status.value}")
    return replace(call, status=CallStatus.FAILED, reason=reason)
