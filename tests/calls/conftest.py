"""A moto server (SERVER mode) for the calls tests, and a fresh table + queue per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from siprec_recorder.local.stack import create_calls_table

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "SiprecRecorderTest",
    "POWERTOOLS_SERVICE_NAME": "siprec-recorder-test",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@pytest.fixture(scope="package")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in [*ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(ENV)
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.stop()


@dataclass
class Aws:
    url: str
    table_name: str
    queue_url: str
    ddb: Any
    sqs: Any

    def messages(self) -> list[str]:
        """Every message on the queue (drained)."""
        bodies: list[str] = []
        while True:
            resp = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            got = resp.get("Messages", [])
            if not got:
                return bodies
            for m in got:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


def create_table(ddb: Any, name: str) -> None:
    """The calls table as template.yaml declares it (the local stack's own provisioning)."""
    create_calls_table(ddb, name)


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    ddb = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    name = f"calls-{uuid.uuid4().hex[:8]}"
    create_table(ddb, name)
    queue_url = sqs.create_queue(QueueName=f"jobs-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    monkeypatch.setenv("CALLS_TABLE", name)
    monkeypatch.setenv("RECORDING_QUEUE_URL", queue_url)
    return Aws(moto_url, name, queue_url, ddb, sqs)
