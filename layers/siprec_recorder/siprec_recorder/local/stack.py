"""The local stack: moto in server mode + our KVS server, provisioned like template.yaml.

`with LocalStack() as stack:` starts both on free 127.0.0.1 ports, creates the calls table, the
recordings bucket (versioned, SSE-KMS), the recording queue + DLQ, and an EventBridge rule that
copies "Recording Available" events into a queue tests can read. `stack.env` holds what a
function's environment would (endpoints, dummy credentials, Settings variables); `apply_env()`
puts it into os.environ for a block. `python -m siprec_recorder.local.stack` runs it and prints
the environment as shell exports.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from types import TracebackType
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from siprec_recorder import config
from siprec_recorder.config import Settings
from siprec_recorder.local.kvs_server import KvsServer

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
RECORDING_AVAILABLE = "Recording Available"
# boto3 reads AWS_ENDPOINT_URL_<service id, spaces to underscores, upper case>.
KVS_ENDPOINT_VARS = (
    "AWS_ENDPOINT_URL_KINESIS_VIDEO",
    "AWS_ENDPOINT_URL_KINESIS_VIDEO_ARCHIVED_MEDIA",
    "AWS_ENDPOINT_URL_KINESIS_VIDEO_MEDIA",
)


class LocalStack:
    """Moto + local KVS, provisioned; resource names and URLs are attributes after start().

    Moto keeps its state per process, so one LocalStack runs at a time in a process and each
    start() begins from empty backends.
    """

    _running = 0
    _running_lock = threading.Lock()

    def __init__(
        self, settings: Settings | None = None, *, kms: bool = True, signing: bool = False
    ) -> None:
        self.settings = settings or Settings()
        self.use_kms = kms
        self.use_signing = signing
        self.moto: ThreadedMotoServer | None = None
        self.kvs = KvsServer()
        self.moto_url = ""
        self.queue_url = ""
        self.dlq_url = ""
        self.events_queue_url = ""
        self.event_dlq_url = ""
        self.kms_key_arn = ""
        self.signing_key_arn = ""
        self.env: dict[str, str] = {}
        self._counted = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalStack:
        """Start moto and the KVS server, then provision the resources."""
        with LocalStack._running_lock:
            if LocalStack._running:
                raise RuntimeError("another LocalStack is running in this process")
            LocalStack._running += 1
            self._counted = True
        try:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access line per call
            self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self.moto.start()
            host, port = self.moto.get_host_and_port()
            self.moto_url = f"http://{host}:{port}"
            reset = f"{self.moto_url}/moto-api/reset"  # moto's state is per process
            request = urllib.request.Request(reset, method="POST")  # noqa: S310 - our own server
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                pass
            self.kvs.start()
            self.env = self._base_env()
            self._provision()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers (state is lost: it lives in memory)."""
        self.kvs.stop()
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        with LocalStack._running_lock:
            if self._counted:
                LocalStack._running -= 1
                self._counted = False

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def apply_env(self) -> contextlib.AbstractContextManager[dict[str, str]]:
        """Put `env` into os.environ for the block, then restore what was there."""
        return patched_environ(self.env)

    # -- clients ---------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client for this stack (KVS services go to the KVS server)."""
        return local_client(service, self.moto_url, self.kvs.url)

    def recording_events(self, wait_s: float = 0.0) -> list[dict[str, Any]]:
        """Drain the "Recording Available" events that reached the test queue."""
        sqs = self.client("sqs")
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while True:
            got = sqs.receive_message(
                QueueUrl=self.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            for message in got:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            if got:
                continue
            if out or time.monotonic() >= deadline:
                return out
            time.sleep(0.1)

    # -- internals -------------------------------------------------------------------------
    def _base_env(self) -> dict[str, str]:
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.moto_url,
        }
        env.update({name: self.kvs.url for name in KVS_ENDPOINT_VARS})
        return env

    def _provision(self) -> None:
        s = self.settings
        if self.use_kms:
            self.kms_key_arn = self._kms_key("recordings", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
        if self.use_signing:
            self.signing_key_arn = self._kms_key("manifest-signing", "RSA_2048", "SIGN_VERIFY")
        self._table(s.calls_table)
        self._bucket(s.bucket)
        self.dlq_url, dlq_arn = self._queue("siprec-recording-dlq")
        self.queue_url, _ = self._queue(
            "siprec-recording-jobs",
            VisibilityTimeout="5400",
            RedrivePolicy=json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(config.MAX_RECEIVES)}
            ),
        )
        self.event_dlq_url, _ = self._queue("siprec-event-dlq")
        self.events_queue_url, events_arn = self._queue("siprec-recording-available")
        self._event_rule(s.event_bus, s.event_source, events_arn)
        self.settings = replace(
            s,
            queue_url=self.queue_url,
            sse_kms_key_id=self.kms_key_arn or s.sse_kms_key_id,
            signing_key_id=self.signing_key_arn or s.signing_key_id,
        )
        self.env.update(
            {
                config.ENV_CALLS_TABLE: s.calls_table,
                config.ENV_BUCKET: s.bucket,
                config.ENV_PREFIX: s.prefix,
                config.ENV_QUEUE_URL: self.queue_url,
                config.ENV_EVENT_BUS: s.event_bus,
                config.ENV_EVENT_SOURCE: s.event_source,
                config.ENV_FORMAT: s.output_format,
                config.ENV_SSE_KMS_KEY: self.settings.sse_kms_key_id,
                config.ENV_SIGNING_KEY: self.settings.signing_key_id,
            }
        )

    def _kms_key(self, name: str, spec: str, usage: str) -> str:
        kms = self.client("kms")
        meta = kms.create_key(Description=f"local {name} key", KeySpec=spec, KeyUsage=usage)[
            "KeyMetadata"
        ]
        kms.create_alias(AliasName=f"alias/siprec-local-{name}", TargetKeyId=meta["KeyId"])
        return str(meta["Arn"])

    def _table(self, name: str) -> None:
        create_calls_table(self.client("dynamodb"), name)

    def _bucket(self, name: str) -> None:
        create_recordings_bucket(self.client("s3"), name, kms_key=self.kms_key_arn)

    def _queue(self, name: str, **attributes: str) -> tuple[str, str]:
        sqs = self.client("sqs")
        url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, str(arn)

    def _event_rule(self, bus: str, source: str, queue_arn: str) -> None:
        events = self.client("events")
        if bus != "default":
            events.create_event_bus(Name=bus)
        pattern = {"source": [source], "detail-type": [RECORDING_AVAILABLE]}
        events.put_rule(
            Name="siprec-recording-available", EventBusName=bus, EventPattern=json.dumps(pattern)
        )
        events.put_targets(
            Rule="siprec-recording-available",
            EventBusName=bus,
            Targets=[{"Id": "test-queue", "Arn": queue_arn}],
        )


def local_client(service: str, moto_url: str, kvs_url: str) -> Any:
    """A boto3 client for a local stack's endpoints (KVS services go to our KVS server)."""
    url = kvs_url if service.startswith("kinesis") else moto_url
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )


@contextlib.contextmanager
def patched_environ(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """os.environ with `env` laid over it for the block; what was there comes back after."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def create_calls_table(ddb: Any, name: str) -> None:
    """The calls table as template.yaml declares it: keys, GSI status-index, TTL on `ttl`."""
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "status", "updated_at")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "status-index",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "updated_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )


def create_recordings_bucket(s3: Any, name: str, *, kms_key: str = "", lock: bool = False) -> None:
    """The recordings bucket as template.yaml declares it: versioned, encrypted, not public."""
    kwargs: dict[str, Any] = {"Bucket": name}
    if lock:
        kwargs["ObjectLockEnabledForBucket"] = True
    s3.create_bucket(**kwargs)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    default: dict[str, str] = {"SSEAlgorithm": "AES256"}
    if kms_key:
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key}
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def main() -> int:
    """Run the stack until interrupted; print its environment as shell exports."""
    with LocalStack() as stack:
        for key, value in sorted(stack.env.items()):
            print(f"export {key}={value}", flush=True)
        print("# local stack running; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
