"""What the StreamStatus function does, with its adapters passed in (tests pass fakes or moto).

The state change is written first (conditional on the version read); only then are its effects
run. So a job is sent once per QUEUED transition; if sending fails, the call stays QUEUED and
the sweeper resends it (the EventBridge retry of the same event id is a no-op by design).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from siprec_recorder.calls import lifecycle
from siprec_recorder.calls.events import StreamingStatusEvent
from siprec_recorder.calls.model import Call


class CallStore(Protocol):
    """The calls table (aws.calls_table.CallsTable, or a fake)."""

    def update(
        self, transaction_id: str, fn: Callable[[Call | None], lifecycle.Transition]
    ) -> lifecycle.Transition: ...


class JobQueue(Protocol):
    """The recording queue (aws.queue.RecordingQueue, or a fake)."""

    def send_job(self, transaction_id: str, attempt: int) -> Any: ...


@dataclass(frozen=True, slots=True)
class StatusOutcome:
    """What one event did: for the handler's return value, logs and metrics."""

    transaction_id: str
    event_id: str
    streaming_status: str
    call_status: str
    duplicate: bool
    enqueued_attempt: int | None
    late_stream: bool = False  # a stream appeared after the call was final: reprocess it

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "transaction_id": self.transaction_id,
            "event_id": self.event_id,
            "streaming_status": self.streaming_status,
            "call_status": self.call_status,
            "duplicate": self.duplicate,
            "enqueued_attempt": self.enqueued_attempt,
            "late_stream": self.late_stream,
        }


def handle_stream_status(
    event: StreamingStatusEvent,
    store: CallStore,
    queue: JobQueue,
    reader: lifecycle.LabelsReader = lifecycle.read_labels,
) -> StatusOutcome:
    """Fold the event into its call; send the recording job if this made the call ready."""
    seen: list[bool] = []
    late: list[bool] = []
    arn = event.detail.stream_arn

    def step(call: Call | None) -> lifecycle.Transition:
        seen[:] = [call is not None and event.id in call.event_ids]
        late[:] = [bool(call and call.terminal and arn and call.stream(arn) is None)]
        return lifecycle.apply_event(call, event, reader)

    call, effects = store.update(event.transaction_id, step)
    for effect in effects:
        queue.send_job(effect.transaction_id, effect.attempt)
    return StatusOutcome(
        transaction_id=event.transaction_id,
        event_id=event.id,
        streaming_status=event.status,
        call_status=call.status.value,
        duplicate=bool(seen and seen[0]),
        enqueued_attempt=effects[-1].attempt if effects else None,
        late_stream=bool(late and late[0] and not seen[0]),
    )
