"""Recorder function: one SQS job -> the call's recordings, manifest and tags in S3.

Thin by design: parse the SQS batch (partial batch responses), hand each job to
`siprec_recorder.pipeline.service.handle_job` with adapters from the environment, return.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from siprec_recorder.media.tuning import tune_process

tune_process()  # before numpy loads: one BLAS thread, decode buffers reused (see there)

from siprec_recorder.calls.model import RecordingJob  # noqa: E402 - after tune_process
from siprec_recorder.config import Settings  # noqa: E402

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

    from siprec_recorder.pipeline.service import RecorderDeps

logger = Logger()
metrics = Metrics()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS)
# adapters (boto3 clients) built on the first job, reused while warm
_deps: RecorderDeps | None = None


def _recorder_deps(settings: Settings) -> RecorderDeps:
    """The pipeline and its adapters, imported and built once per container."""
    global _deps
    if _deps is None:
        from siprec_recorder.pipeline.wiring import recorder_deps

        _deps = recorder_deps(settings, metric=_metric)
    return _deps


def _metric(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@tracer.capture_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    """One job; StorageError propagates so SQS retries it (then the DLQ)."""
    job = RecordingJob.from_body(record.body)
    logger.set_correlation_id(job.transaction_id)
    started = time.monotonic()
    settings = Settings.from_env()
    from siprec_recorder.pipeline.service import handle_job

    result = handle_job(
        job,
        _recorder_deps(settings),
        receive_count=int(record.attributes.approximate_receive_count or 1),
        max_receives=settings.max_receives,
        time_is_up=lambda: time.monotonic() - started > settings.time_budget_seconds,
    )
    logger.info(
        "recording job settled",
        extra={
            "outcome": result.outcome,
            "reason": result.reason,
            "manifest_key": result.manifest_key,
        },
    )
    return {"outcome": result.outcome}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
