"""The recording queue adapter: sends `{"transaction_id": ..., "attempt": n}` to SQS.

Sending is at-least-once and the call's status transition (-> QUEUED, attempt n) is the guard:
the job is only sent after that conditional write succeeded, so one transition gives one job.
On a FIFO queue the deduplication id `<transaction_id>:<attempt>` also drops a resend of the
same attempt within SQS's five-minute window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from siprec_recorder.calls.model import RecordingJob
from siprec_recorder.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class RecordingQueue:
    """Send recording jobs to RECORDING_QUEUE_URL."""

    def __init__(
        self,
        queue_url: str,
        *,
        client: SQSClient | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        if not queue_url:
            raise StorageError("recording queue URL is not set (RECORDING_QUEUE_URL)")
        self.queue_url = queue_url
        self.client: SQSClient = client or boto3.client(
            "sqs", endpoint_url=endpoint_url, region_name=region
        )
        self.fifo = queue_url.endswith(".fifo")

    def send_job(self, transaction_id: str, attempt: int) -> str:
        """Send one job; returns the SQS message id."""
        job = RecordingJob(transaction_id, attempt)
        extra: dict[str, Any] = {}
        if self.fifo:
            extra = {
                "MessageGroupId": transaction_id,
                "MessageDeduplicationId": f"{transaction_id}:{attempt}",
            }
        try:
            resp = self.client.send_message(
                QueueUrl=self.queue_url, MessageBody=job.to_body(), **extra
            )
        except (ClientError, BotoCoreError) as exc:
            code = (
                exc.response.get("Error", {}).get("Code", "ClientError")
                if isinstance(exc, ClientError)
                else type(exc).__name__
            )
            raise StorageError(f"recording queue send failed: {code}") from exc
        return str(resp.get("MessageId", ""))
