"""LocalStack: the provisioned resources, checked with plain boto3 clients through its env."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from siprec_recorder.config import Settings
from siprec_recorder.local.stack import LocalStack
from siprec_recorder.simulate import SimulatedCall, ingest


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as s:
        yield s


def test_env_points_boto3_at_the_stack(stack: LocalStack) -> None:
    before = os.environ.get("AWS_ENDPOINT_URL")
    with stack.apply_env():
        assert boto3.client("s3").meta.endpoint_url == stack.moto_url
        assert boto3.client("kinesisvideo").meta.endpoint_url == stack.kvs.url
        assert boto3.client("kinesis-video-archived-media").meta.endpoint_url == stack.kvs.url
        assert Settings.from_env().queue_url == stack.queue_url
    assert os.environ.get("AWS_ENDPOINT_URL") == before


def test_calls_table(stack: LocalStack) -> None:
    with stack.apply_env():
        ddb: Any = boto3.client("dynamodb")
        table = ddb.describe_table(TableName=Settings().calls_table)["Table"]
        ttl = ddb.describe_time_to_live(TableName=Settings().calls_table)
    keys = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
    assert keys == {"pk": "HASH", "sk": "RANGE"}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types["pk"] == "S" and types["sk"] == "S"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "ttl"
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def test_bucket_versioned_and_kms_encrypted(stack: LocalStack) -> None:
    bucket = Settings().bucket
    with stack.apply_env():
        s3: Any = boto3.client("s3")
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        s3.put_object(Bucket=bucket, Key="probe/one.txt", Body=b"1")
        head = s3.head_object(Bucket=bucket, Key="probe/one.txt")
        kms: Any = boto3.client("kms")
        key = kms.describe_key(KeyId=os.environ["SSE_KMS_KEY_ID"])["KeyMetadata"]
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == stack.kms_key_arn == key["Arn"]
    assert head["VersionId"]


def test_queue_has_dead_letter_queue(stack: LocalStack) -> None:
    with stack.apply_env():
        sqs: Any = boto3.client("sqs")
        attrs = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])
        dlq_arn = sqs.get_queue_attributes(QueueUrl=stack.dlq_url, AttributeNames=["QueueArn"])
    redrive = json.loads(attrs["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn["Attributes"]["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 5


def test_recording_available_events_reach_the_test_queue(stack: LocalStack) -> None:
    settings = Settings()
    with stack.apply_env():
        events: Any = boto3.client("events")
        events.put_events(
            Entries=[
                {
                    "Source": settings.event_source,
                    "DetailType": "Recording Available",
                    "Detail": json.dumps({"transactionId": "t-1"}),
                    "EventBusName": settings.event_bus,
                },
                {  # not matched by the rule
                    "Source": "someone.else",
                    "DetailType": "Recording Available",
                    "Detail": "{}",
                    "EventBusName": settings.event_bus,
                },
            ]
        )
    got = stack.recording_events(wait_s=5)
    assert [e["detail"] for e in got] == [{"transactionId": "t-1"}]
    assert got[0]["detail-type"] == "Recording Available"


def test_kvs_through_the_stack(stack: LocalStack, small_call: SimulatedCall) -> None:
    ingest(small_call, stack.kvs)
    leg = small_call.legs[0]
    with stack.apply_env():
        control: Any = boto3.client("kinesisvideo")
        endpoint = control.get_data_endpoint(StreamARN=leg.stream_arn, APIName="LIST_FRAGMENTS")
        archived: Any = boto3.client(
            "kinesis-video-archived-media", endpoint_url=endpoint["DataEndpoint"]
        )
        body = archived.get_media_for_fragment_list(
            StreamARN=leg.stream_arn, Fragments=[leg.first_fragment]
        )["Payload"].read()
    assert body == leg.own_fragments[0][1]


def test_a_second_stack_in_the_same_process_is_refused(stack: LocalStack) -> None:
    with pytest.raises(RuntimeError, match="another LocalStack"):
        LocalStack().start()
    with stack.apply_env():  # the running one is untouched
        assert boto3.client("sqs").get_queue_url(QueueName="siprec-recording-jobs")["QueueUrl"]
