"""What the Recorder function does with one job, adapters passed in.

Order is what makes a ghost recording impossible: claim the call (QUEUED -> RECORDING), write
every object, only then mark it RECORDED / RECORDED_ONE_WAY, then announce it. A storage
failure is retried by SQS; on the last receive the call is marked FAILED with the cause
(`s3_access_denied`, `kms_access_denied`, ...) and the message goes to the DLQ, so the failure
is visible in the table, in a metric and in an alarm. KVS giving up (throttling, outage) is
retried the same way while the media is still in KVS; only the last receive records what it
could fetch and flags the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from siprec_recorder.calls import lifecycle
from siprec_recorder.calls.model import STREAM_STARTED, Call, CallStatus, RecordingJob
from siprec_recorder.calls.service import JobQueue
from siprec_recorder.config import MAX_RECEIVES
from siprec_recorder.errors import KvsServiceError, RecorderError, StorageError
from siprec_recorder.pipeline.plan import plan_call
from siprec_recorder.pipeline.record import record_call
from siprec_recorder.pipeline.sources import MediaSource
from siprec_recorder.pipeline.workarea import WorkArea
from siprec_recorder.recording.model import OutputOptions
from siprec_recorder.recording.store import RecordingStore

Metric = Callable[[str, float], None]


class CallsStore(Protocol):
    """The calls table operations the recorder uses (aws.calls_table.CallsTable)."""

    def get(self, transaction_id: str) -> Call | None: ...
    def claim(self, transaction_id: str, attempt: int, *, reclaim: bool = False) -> Call | None: ...
    def save_checkpoint(self, transaction_id: str, checkpoint: dict[str, Any]) -> Call: ...
    def requeue(self, transaction_id: str) -> lifecycle.Transition: ...
    def finish_recording(
        self,
        transaction_id: str,
        status: CallStatus,
        manifest_key: str,
        reason: str | None,
        planned: frozenset[str],
    ) -> lifecycle.Transition: ...
    def mark_failed(self, transaction_id: str, reason: str) -> Call: ...


class Announcer(Protocol):
    def announce(self, manifest: dict[str, Any], manifest_key: str) -> None: ...


@dataclass
class RecorderDeps:
    """Everything one job needs; built from the environment by `pipeline.wiring`."""

    table: CallsStore
    queue: JobQueue
    source: MediaSource
    store: RecordingStore
    work: Callable[[str], WorkArea]
    options: OutputOptions
    announcer: Announcer | None = None
    agent_aor_pattern: str = ""
    decoder_fast: bool = True  # False: the decoder's general path only (SIPREC_DECODER_FAST=0)
    metric: Metric = lambda name, value: None


@dataclass(frozen=True)
class JobResult:
    """What happened to one job (the handler logs it and returns it)."""

    transaction_id: str
    outcome: str  # recorded | one_way | continued | waiting | stale | failed | announced
    manifest_key: str | None = None
    reason: str | None = None


def handle_job(
    job: RecordingJob,
    deps: RecorderDeps,
    *,
    receive_count: int = 1,
    max_receives: int = MAX_RECEIVES,
    time_is_up: Callable[[], bool] = lambda: False,
) -> JobResult:
    """Record one call. Raises StorageError to have SQS retry; returns when the job is settled."""
    tid = job.transaction_id
    current = deps.table.get(tid)
    if current is not None and _announce_again(current, job, receive_count, deps):
        return JobResult(tid, "announced", current.manifest_key, "Recording Available sent again")
    if current is None or current.terminal:
        reason = "unknown call" if current is None else f"already {current.status.value}"
        return JobResult(tid, "stale", reason=reason)
    call = deps.table.claim(tid, job.attempt, reclaim=receive_count > 1)
    if call is None:
        return JobResult(tid, "stale", reason="job attempt superseded")
    # what this recording can hold: a stream that starts from now on needs another one
    planned = frozenset(s.stream_arn for s in call.streams if s.status != STREAM_STARTED)
    try:
        plan = plan_call(call, agent_aor_pattern=deps.agent_aor_pattern or None)
        outcome = record_call(
            plan,
            deps.source,
            deps.store,
            deps.options,
            work=deps.work(tid),
            checkpoint=call.checkpoint,
            time_is_up=time_is_up,
            # before the last try a KVS failure is retried; the last one keeps what it got
            keep_partial_on_kvs_error=receive_count >= max_receives,
            decoder_fast=deps.decoder_fast,
        )
    except KvsServiceError:
        # KVS throttled or failed past the adapter's backoff: SQS retries the job later
        deps.metric("KvsReadErrors", 1)
        raise
    except StorageError as exc:
        deps.metric("GhostRecordingRisk", 1)
        if receive_count >= max_receives:
            # last try: the call's state says why, and the message still goes to the DLQ
            deps.table.mark_failed(tid, exc.code)
            deps.metric("FailedCalls", 1)
        raise
    except RecorderError as exc:  # unusable input: nothing a retry would change
        deps.table.mark_failed(tid, exc.code)
        deps.metric("FailedCalls", 1)
        return JobResult(tid, "failed", reason=f"{exc.code}: {exc}")

    if outcome.status is None:
        deps.table.save_checkpoint(tid, outcome.checkpoint or {})
        _, effects = deps.table.requeue(tid)
        for effect in effects:
            deps.queue.send_job(effect.transaction_id, effect.attempt)
        return JobResult(tid, "continued", reason=outcome.reason)

    assert outcome.manifest is not None and outcome.manifest_key is not None
    if outcome.status == CallStatus.FAILED:  # written, but without any audio: never "recorded"
        reason = outcome.reason or "no_audio"
        deps.table.mark_failed(tid, reason)
        deps.metric("FailedCalls", 1)
        return JobResult(tid, "failed", outcome.manifest_key, reason)
    done, effects = deps.table.finish_recording(
        tid, outcome.status, outcome.manifest_key, outcome.reason, planned
    )
    if not done.terminal:  # a stream started while recording: record the call again
        for effect in effects:
            deps.queue.send_job(effect.transaction_id, effect.attempt)
        deps.metric("RecordedAgain", 1)
        return JobResult(tid, "waiting", outcome.manifest_key, done.reason)
    one_way = outcome.status == CallStatus.RECORDED_ONE_WAY
    deps.metric("OneWayRecordings" if one_way else "RecordedCalls", 1)
    if deps.announcer is not None:
        deps.announcer.announce(outcome.manifest, outcome.manifest_key)
    return JobResult(
        tid, "one_way" if one_way else "recorded", outcome.manifest_key, outcome.reason
    )


def _announce_again(call: Call, job: RecordingJob, receive_count: int, deps: RecorderDeps) -> bool:
    """The same job again after its call was recorded: the announcement may have failed.

    The call is marked recorded before "Recording Available" is sent, so a failed put_events
    leaves a recorded call and a redelivered job; without this the event would be lost. A
    redelivery after a successful announcement sends it twice (at least once, never lost).
    """
    if (
        deps.announcer is None
        or receive_count < 2
        or call.attempt != job.attempt
        or call.status not in lifecycle.RECORDED_STATUSES
        or not call.manifest_key
    ):
        return False
    data = deps.store.get_bytes(call.manifest_key)
    if data is None:
        return False
    deps.announcer.announce(json.loads(data), call.manifest_key)
    return True
