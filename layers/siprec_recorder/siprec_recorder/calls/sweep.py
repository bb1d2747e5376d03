"""The sweeper: finish calls that the events alone would leave hanging (delivery is best effort).

Three cases, each re-checked on the freshly read call inside a conditional update:
1. ENDED never came: an ACTIVE/ENDED call not written for SWEEP_ENDED_TIMEOUT_MINUTES whose
   open streams have had no KVS fragment for SWEEP_STREAM_GRACE_MINUTES -> those streams are
   treated as ENDED (end time unknown: the recorder reads to the end) and the call is enqueued;
2. an expected stream never came: every stream that started has ended and the first ENDED is
   SWEEP_STREAM_GRACE_MINUTES old -> enqueue anyway (the recorder writes RECORDED_ONE_WAY);
3. a job never finished: QUEUED not written for `queued_minutes` (the job may never have been
   sent, or it waits behind a backlog) -> resend as a new attempt that uses up no retry (FAILED
   `recorder_never_took_job` after `max_resends`); RECORDING not written for `stuck_minutes`
   (the recorder took it and never settled it) -> resend with the next attempt, or FAILED
   `recorder_never_finished` after `max_attempts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from siprec_recorder.calls import lifecycle
from siprec_recorder.calls.events import iso
from siprec_recorder.calls.model import STREAM_STARTED, Call, CallStatus, EnqueueRecording
from siprec_recorder.calls.service import JobQueue
from siprec_recorder.errors import RecorderError


class LastFragmentProbe(Protocol):
    """KVS ListFragments over a time window (aws.kvs.KvsMedia, or a fake)."""

    def list_fragments(self, stream_arn: str, start_ms: int, end_ms: int) -> Sequence[Any]: ...


class SweepStore(Protocol):
    """The calls table operations the sweeper uses."""

    def list_by_status(self, status: CallStatus, updated_before: str) -> Iterable[Call]: ...

    def update(
        self, transaction_id: str, fn: Callable[[Call | None], lifecycle.Transition]
    ) -> lifecycle.Transition: ...


NEVER_DONE = ("recorder_never_finished", "recorder_never_took_job")


@dataclass(frozen=True)
class SweepPolicy:
    """How long to wait before acting (minutes) and how often to retry a job."""

    ended_timeout_minutes: int = 240
    stream_grace_minutes: int = 5
    # Every receive of a job writes the call (claim counts it), so this clock runs from the
    # last receive: longer than the recording queue's 90-minute visibility timeout plus the
    # recorder's 15-minute run, SQS redelivers a failed job first (its last receive records the
    # cause, e.g. s3_access_denied, and reaches the DLQ); the sweeper only resends jobs that
    # were lost with a crashed recorder. Checkpoints refresh the clock too.
    stuck_minutes: int = 120
    # A QUEUED call's job was never taken (a failed send, or a queue backlog): resent as a new
    # attempt that uses up no retry (a backlog is the queue-age alarm's business).
    queued_minutes: int = 30
    max_attempts: int = 3
    max_resends: int = 48  # a day of half-hourly resends of a job nobody takes, then FAILED


@dataclass
class SweepReport:
    """What one sweep did (the handler returns it and turns counts into metrics)."""

    ended_by_probe: list[str] = field(default_factory=list)
    still_streaming: list[str] = field(default_factory=list)
    missing_stream: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Counts and transaction ids (never anything personal)."""
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}


def last_fragment_ms(probe: LastFragmentProbe, stream_arn: str, since_ms: int, now_ms: int) -> int:
    """Server time of the newest fragment in [since, now]; -1 when there is none."""
    frags = probe.list_fragments(stream_arn, since_ms, now_ms)
    return max((int(f.server_ms) for f in frags), default=-1)


def run_sweep(
    store: SweepStore,
    queue: JobQueue,
    probe: LastFragmentProbe,
    policy: SweepPolicy,
    now: datetime,
) -> SweepReport:
    """One pass over the three cases; a failure on one call is reported, not fatal."""
    report = SweepReport()
    now = now.astimezone(UTC)
    ended_cut = iso(now - timedelta(minutes=policy.ended_timeout_minutes)) or ""
    grace_cut = iso(now - timedelta(minutes=policy.stream_grace_minutes)) or ""
    stuck_cuts = {
        CallStatus.QUEUED: iso(now - timedelta(minutes=policy.queued_minutes)) or "",
        CallStatus.RECORDING: iso(now - timedelta(minutes=policy.stuck_minutes)) or "",
    }

    for status in (CallStatus.ACTIVE, CallStatus.ENDED):
        for call in list(store.list_by_status(status, ended_cut)):  # read all, then write
            try:
                _probe_open_streams(store, queue, probe, policy, call, now, report)
            except RecorderError as exc:
                report.errors.append(f"{call.transaction_id}: {exc.code}")
    for call in list(store.list_by_status(CallStatus.ENDED, iso(now) or "")):
        try:
            _missing_stream(store, queue, call, grace_cut, report)
        except RecorderError as exc:
            report.errors.append(f"{call.transaction_id}: {exc.code}")
    for status, stuck_cut in stuck_cuts.items():
        for call in list(store.list_by_status(status, stuck_cut)):
            try:
                _stuck(store, queue, policy, call, stuck_cut, report)
            except RecorderError as exc:
                report.errors.append(f"{call.transaction_id}: {exc.code}")
    return report


def _probe_open_streams(
    store: SweepStore,
    queue: JobQueue,
    probe: LastFragmentProbe,
    policy: SweepPolicy,
    call: Call,
    now: datetime,
    report: SweepReport,
) -> None:
    now_ms = int(now.timestamp() * 1000)
    quiet_ms = policy.stream_grace_minutes * 60_000
    open_streams = [s for s in call.streams if s.status == STREAM_STARTED]
    ended: dict[str, str | None] = {}
    for s in open_streams:
        last = last_fragment_ms(probe, s.stream_arn, now_ms - 2 * quiet_ms, now_ms)
        if last >= now_ms - quiet_ms:
            report.still_streaming.append(call.transaction_id)
            return  # the call is still going: leave it
        ended[s.stream_arn] = None  # no recent fragment; the true end is for the recorder to find
    if not open_streams and call.status == CallStatus.ENDED:
        return  # nothing open: case 2 handles a missing stream

    def step(fresh: Call | None) -> lifecycle.Transition:
        if fresh is None or fresh.version != call.version:
            return (fresh or call), []  # changed since we looked: next sweep decides
        return lifecycle.end_streams(fresh, ended, "ended_event_missing")

    new, effects = store.update(call.transaction_id, step)
    _send(queue, effects)
    if effects:
        report.ended_by_probe.append(call.transaction_id)
    _note_failure(call, new, report)


def _missing_stream(
    store: SweepStore, queue: JobQueue, call: Call, grace_cut: str, report: SweepReport
) -> None:
    def due(c: Call) -> bool:
        return (
            c.status == CallStatus.ENDED
            and c.first_ended_time is not None
            and c.first_ended_time < grace_cut
            and not any(s.status == STREAM_STARTED for s in c.streams)
        )

    if not due(call):
        return

    def step(fresh: Call | None) -> lifecycle.Transition:
        if fresh is None or not due(fresh):
            return (fresh or call), []
        return lifecycle.force_enqueue(fresh, "missing_stream")

    new, effects = store.update(call.transaction_id, step)
    _send(queue, effects)
    if effects:
        report.missing_stream.append(call.transaction_id)
    _note_failure(call, new, report)


def _stuck(
    store: SweepStore,
    queue: JobQueue,
    policy: SweepPolicy,
    call: Call,
    stuck_cut: str,
    report: SweepReport,
) -> None:
    def step(fresh: Call | None) -> lifecycle.Transition:
        if fresh is None or fresh.updated_at >= stuck_cut:
            return (fresh or call), []
        return lifecycle.retry_stuck(fresh, policy.max_attempts, policy.max_resends)

    new, effects = store.update(call.transaction_id, step)
    _send(queue, effects)
    if effects:
        report.retried.append(call.transaction_id)
    elif new.status == CallStatus.FAILED and new.reason in NEVER_DONE:
        report.failed.append(call.transaction_id)


def _note_failure(before: Call, after: Call, report: SweepReport) -> None:
    """A call this sweep failed (no streams at all) counts in `failed`: the FailedCalls alarm."""
    if after.status == CallStatus.FAILED and before.status != CallStatus.FAILED:
        report.failed.append(after.transaction_id)


def _send(queue: JobQueue, effects: Sequence[EnqueueRecording]) -> None:
    for effect in effects:
        queue.send_job(effect.transaction_id, effect.attempt)
