"""StreamStatus: one Chime streaming status event -> the call's state; queue the call when complete.

Cold start stays light: only Powertools Logger/Metrics and the pydantic event models load at
import. boto3, the X-Ray tracer and the adapters are built on the first event; lxml loads only
when an event carries SIPREC metadata. The raw event is never logged (it holds phone numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from siprec_recorder.calls.events import parse_events
from siprec_recorder.errors import EventError

logger = Logger()
metrics = Metrics()


Process = Callable[[list[Any]], list[dict[str, Any]]]
_process: Process | None = None


def _get_process() -> Process:
    """Adapters from the environment, built once per container (first invocation)."""
    global _process
    if _process is None:
        from aws_lambda_powertools import Tracer

        from siprec_recorder.aws.calls_table import CallsTable
        from siprec_recorder.aws.queue import RecordingQueue
        from siprec_recorder.calls.service import handle_stream_status
        from siprec_recorder.config import Settings

        tracer = Tracer()
        settings = Settings.from_env()
        store = CallsTable(settings.calls_table, ttl_days=settings.call_ttl_days)
        queue = RecordingQueue(settings.queue_url)

        @tracer.capture_method(capture_response=False)
        def process(events: list[Any]) -> list[dict[str, Any]]:
            results = []
            for event in events:
                logger.set_correlation_id(event.transaction_id)
                tracer.put_annotation("transaction_id", event.transaction_id)
                outcome = handle_stream_status(event, store, queue)
                _record(outcome.to_dict())
                results.append(outcome.to_dict())
            return results

        _process = process
    return _process


def _record(outcome: dict[str, Any]) -> None:
    """One log line and the metrics of one event (ids and statuses only)."""
    logger.info("streaming status applied", extra=outcome)
    name = "DuplicateEvents" if outcome["duplicate"] else "EventsApplied"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if outcome["enqueued_attempt"] is not None:
        metrics.add_metric(name="RecordingsQueued", unit=MetricUnit.Count, value=1)
    if outcome["late_stream"]:
        logger.warning("stream started after the call was final; reprocess it", extra=outcome)
        metrics.add_metric(name="LateStreams", unit=MetricUnit.Count, value=1)
    if outcome["call_status"] == "FAILED":
        metrics.add_metric(name="FailedCalls", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True, log_event=False)  # the event has phone numbers
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge (or SQS-wrapped) Chime streaming status -> calls table (+ recording job)."""
    try:
        events = parse_events(event)  # EventBridge form, or SQS-wrapped
    except EventError as exc:
        # refused input fails the invocation: after its retries it lands in the event DLQ
        logger.warning("streaming status event refused", extra={"reason": str(exc)})
        metrics.add_metric(name="EventsRefused", unit=MetricUnit.Count, value=1)
        raise
    results: list[dict[str, Any]] = _get_process()(events)
    return {"ok": True, "results": results}
