"""Build the Recorder's adapters from the environment (the template's variables).

Kept apart from the logic so the handler stays a few lines and the same logic runs against
moto and our local KVS server (boto3 reads AWS_ENDPOINT_URL_* there) or against AWS.
"""

from __future__ import annotations

from typing import Any

from siprec_recorder.config import Settings
from siprec_recorder.pipeline.service import RecorderDeps
from siprec_recorder.pipeline.sources import KvsSource
from siprec_recorder.recording.model import OutputOptions


class EventAnnouncer:
    """Publishes "Recording Available" for a stored manifest."""

    def __init__(self, settings: Settings) -> None:
        from siprec_recorder.aws.events import EventPublisher

        self.settings = settings
        self.publisher = EventPublisher(settings.event_bus, settings.event_source)

    def announce(self, manifest: dict[str, Any], manifest_key: str) -> None:
        from siprec_recorder.aws.events import DETAIL_TYPE, recording_available_detail

        detail = recording_available_detail(manifest, self.settings.bucket, manifest_key)
        self.publisher.publish(DETAIL_TYPE, detail)


def output_options(settings: Settings) -> OutputOptions:
    """Format, prefix, report and signing as deployed."""
    signer = None
    if settings.signing_key_id:
        from siprec_recorder.aws.kms_signer import KmsSigner

        signer = KmsSigner(settings.signing_key_id)
    return OutputOptions(
        fmt=settings.output_format,
        prefix=settings.prefix,
        report=settings.report_enabled,
        signer=signer,
    )


def recorder_deps(settings: Settings, metric: Any = None) -> RecorderDeps:
    """Adapters for AWS (or the local stack, through AWS_ENDPOINT_URL_* variables)."""
    from siprec_recorder.aws.calls_table import CallsTable
    from siprec_recorder.aws.kvs import KvsMedia
    from siprec_recorder.aws.queue import RecordingQueue
    from siprec_recorder.aws.s3 import S3Store, S3WorkArea

    store = S3Store(
        settings.bucket,
        kms_key_id=settings.sse_kms_key_id,
        object_lock_mode=settings.object_lock_mode,
        object_lock_days=settings.object_lock_days,
    )
    # work files are temporary: encrypted like the recordings, no explicit retention (the
    # bucket's default Object Lock retention still applies to them; see docs/DEPLOY.md)
    work_store = S3Store(settings.bucket, client=store.client, kms_key_id=settings.sse_kms_key_id)
    deps = RecorderDeps(
        table=CallsTable(settings.calls_table, ttl_days=settings.call_ttl_days),
        queue=RecordingQueue(settings.queue_url),
        source=KvsSource(KvsMedia()),
        store=store,
        work=lambda tid: S3WorkArea(work_store, f"{settings.prefix}work/{tid}/"),
        options=output_options(settings),
        announcer=EventAnnouncer(settings),
        agent_aor_pattern=settings.agent_aor_pattern,
        decoder_fast=settings.decoder_fast,
    )
    if metric is not None:
        deps.metric = metric
    return deps
