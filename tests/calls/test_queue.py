"""The recording job message: its JSON shape, FIFO deduplication, and refusing bad bodies."""

from __future__ import annotations

import json
import uuid

import pytest

from siprec_recorder.aws.queue import RecordingQueue
from siprec_recorder.calls.model import RecordingJob
from siprec_recorder.errors import EventError, StorageError
from tests.calls.conftest import Aws
from tests.calls.helpers import TXN


def test_standard_queue_gets_the_documented_body(aws: Aws) -> None:
    q = RecordingQueue(aws.queue_url, endpoint_url=aws.url, region="us-east-1")
    assert q.send_job(TXN, 3)
    assert [json.loads(b) for b in aws.messages()] == [{"transaction_id": TXN, "attempt": 3}]


def test_fifo_queue_drops_a_resend_of_the_same_attempt(aws: Aws) -> None:
    url = aws.sqs.create_queue(
        QueueName=f"jobs-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    q = RecordingQueue(url, endpoint_url=aws.url, region="us-east-1")
    q.send_job(TXN, 1)
    q.send_job(TXN, 1)
    q.send_job(TXN, 2)
    got = []
    for _ in range(5):
        resp = aws.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"]
        )
        for m in resp.get("Messages", []):
            got.append((json.loads(m["Body"])["attempt"], m["Attributes"]["MessageGroupId"]))
            aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert got == [(1, TXN), (2, TXN)]


def test_missing_queue_is_a_storage_error(aws: Aws) -> None:
    with pytest.raises(StorageError, match="RECORDING_QUEUE_URL"):
        RecordingQueue("")
    q = RecordingQueue(f"{aws.url}/123456789012/nope", endpoint_url=aws.url, region="us-east-1")
    with pytest.raises(StorageError, match="send failed"):
        q.send_job(TXN, 1)


def test_job_body_round_trip_and_refusals() -> None:
    job = RecordingJob.from_body('{"transaction_id": "abc-1", "attempt": 2}')
    assert (job.transaction_id, job.attempt) == ("abc-1", 2)
    assert json.loads(job.to_body()) == {"transaction_id": "abc-1", "attempt": 2}
    for bad in (
        "nope",
        "[]",
        '{"transaction_id": "../x", "attempt": 1}',
        '{"transaction_id": "abc", "attempt": true}',
        '{"transaction_id": "abc", "attempt": 0}',
        '{"transaction_id": "abc"}',
        '{"transaction_id": "' + "a" * 5000 + '", "attempt": 1}',
    ):
        with pytest.raises(EventError):
            RecordingJob.from_body(bad)
