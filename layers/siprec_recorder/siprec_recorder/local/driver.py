"""Drive the real Lambda handlers against the local stack, as AWS would.

EventBridge -> StreamStatus is a direct invoke per event; SQS -> Recorder is a poll of the
recording queue that builds the same SQS event Lambda's event source mapping builds (receive
count included), deletes what succeeded and leaves failed items for redelivery (then the DLQ).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from siprec_recorder.local.invoke import Handler, LambdaContext, load_handler
from siprec_recorder.local.stack import REGION, LocalStack, patched_environ

# What the template sets on every function, minus the parts that need AWS (X-Ray, CloudWatch).
LOCAL_FUNCTION_ENV = {
    "POWERTOOLS_SERVICE_NAME": "siprec-recorder",
    "POWERTOOLS_METRICS_NAMESPACE": "SiprecRecorder",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


SCHEDULE_EVENT = {
    "version": "0",
    "id": "00000000-0000-0000-0000-000000000000",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-01-01T00:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/siprec-sweeper"],
    "detail": {},
}


class LocalPipeline:
    """The deployed pipeline's flow, with the local stack standing in for AWS."""

    def __init__(self, stack: LocalStack, *, extra_env: Mapping[str, str] | None = None) -> None:
        self.stack = stack
        self.env = {
            **LOCAL_FUNCTION_ENV,
            "RECORDER_MAX_RECEIVES": str(max_receives(stack)),
            **stack.env,
            **(extra_env or {}),
        }
        # one "container" per function for this stack: cached clients point at this stack
        self._handlers: dict[str, Handler] = {}

    def invoke(self, function: str, event: Mapping[str, Any]) -> Any:
        """Invoke a function's real handler with a fresh context, in the functions' env."""
        with self.environment():
            if function not in self._handlers:  # module-level Logger etc. read the env
                self._handlers[function] = load_handler(function, fresh=True)
            return self._handlers[function](event, LambdaContext(function_name=function))

    def environment(self) -> AbstractContextManager[dict[str, str]]:
        """The functions' environment variables, for the duration of a block.

        Not thread-safe (os.environ is process-wide): concurrent drivers set the environment
        once for the whole process instead, as `bench.load` does."""
        return patched_environ(self.env)

    def send_events(self, events: Iterable[Mapping[str, Any]]) -> list[Any]:
        """Deliver Streaming Status events to the StreamStatus function, one invoke each."""
        return [self.invoke("stream_status", event) for event in events]

    def sweep(self) -> Any:
        """One run of the scheduled Sweeper, with the event EventBridge Scheduler sends."""
        return self.invoke("sweeper", SCHEDULE_EVENT)

    def drain(self, *, max_rounds: int = 50, visibility_s: int = 0) -> list[dict[str, Any]]:
        """Run the Recorder on every job in the queue until it is empty; return its responses."""
        sqs = self.stack.client("sqs")
        responses: list[dict[str, Any]] = []
        with self.environment():
            for _ in range(max_rounds):
                got = sqs.receive_message(
                    QueueUrl=self.stack.queue_url,
                    MaxNumberOfMessages=1,
                    AttributeNames=["All"],
                    VisibilityTimeout=max(visibility_s, 1),
                ).get("Messages", [])
                if not got:
                    break
                message = got[0]
                try:
                    response = self.invoke("recorder", sqs_event([message], self.queue_arn()))
                except Exception as exc:  # noqa: BLE001 - Lambda: an error fails the whole batch
                    response = {
                        "batchItemFailures": [{"itemIdentifier": message["MessageId"]}],
                        "error": f"{type(exc).__name__}: {exc}"[:300],
                    }
                responses.append(response)
                failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=self.stack.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=visibility_s,
                    )
                else:
                    sqs.delete_message(
                        QueueUrl=self.stack.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
        return responses

    def queue_arn(self) -> str:
        name = self.stack.queue_url.rstrip("/").rsplit("/", 1)[-1]
        return f"arn:aws:sqs:{REGION}:123456789012:{name}"

    def objects(self, prefix: str = "") -> list[str]:
        """Every key in the recordings bucket under a prefix."""
        s3 = self.stack.client("s3")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.stack.settings.bucket, Prefix=prefix
        ):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)

    def download(self, dest: Path, prefix: str = "") -> dict[str, dict[str, str]]:
        """Copy the bucket's objects under `prefix` to `dest`; return each key's tags."""
        s3 = self.stack.client("s3")
        tags: dict[str, dict[str, str]] = {}
        for key in self.objects(prefix):
            target = dest / key
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(self.stack.settings.bucket, key, str(target))
            got = s3.get_object_tagging(Bucket=self.stack.settings.bucket, Key=key)
            tags[key] = {t["Key"]: t["Value"] for t in got["TagSet"]}
        return tags


def max_receives(stack: LocalStack) -> int:
    """The recording queue's maxReceiveCount (the Recorder fails the call on that receive)."""
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    return int(json.loads(attrs["RedrivePolicy"])["maxReceiveCount"])


def sqs_event(messages: list[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping delivers for these received messages."""
    records = []
    for m in messages:
        attrs = m.get("Attributes", {})
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attrs.get("SentTimestamp", "0"),
                    "SenderId": attrs.get("SenderId", "local"),
                    "ApproximateFirstReceiveTimestamp": attrs.get(
                        "ApproximateFirstReceiveTimestamp", "0"
                    ),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}
