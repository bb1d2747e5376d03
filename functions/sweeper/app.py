"""Sweeper (scheduled): finish calls whose ENDED or a leg never came, resend stuck jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from siprec_recorder.aws.calls_table import CallsTable
from siprec_recorder.aws.kvs import KvsMedia
from siprec_recorder.aws.queue import RecordingQueue
from siprec_recorder.calls.sweep import SweepPolicy, run_sweep
from siprec_recorder.config import Settings

logger = Logger()
metrics = Metrics()
tracer = Tracer()

_METRICS = {
    "ended_by_probe": "CallsEndedByProbe",
    "missing_stream": "CallsMissingStream",
    "retried": "RecordingJobsResent",
    "failed": "FailedCalls",  # the FailedCalls alarm counts every terminal failure
    "errors": "SweepErrors",
}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One sweep over the calls table's status index."""
    settings = Settings.from_env()
    report = run_sweep(
        CallsTable(settings.calls_table, ttl_days=settings.call_ttl_days),
        RecordingQueue(settings.queue_url),
        KvsMedia(),
        SweepPolicy(
            ended_timeout_minutes=settings.ended_timeout_minutes,
            stream_grace_minutes=settings.stream_grace_minutes,
        ),
        now=datetime.now(UTC),
    )
    result = report.to_dict()
    for key, metric in _METRICS.items():
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=len(result[key]))
    logger.info("sweep done", extra={k: len(v) for k, v in result.items()})
    for line in result["errors"]:
        logger.warning("sweep could not finish a call", extra={"detail": line})
    return {"ok": True, **result}
