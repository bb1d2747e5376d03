"""Fixtures for the doctor tests: moto for S3/EventBridge/DynamoDB, Stubber for the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from siprec_recorder.aws.deployment import Clients
from siprec_recorder.local.stack import create_recordings_bucket

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/siprec-RecorderRole-ABC"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:siprec-StreamStatusFunction-XYZ"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:siprec-EventDLQ"
VC = "e2xkqmr4vo7bn1nfsdy3wa"


@dataclass
class Aws:
    clients: Clients
    chime: Stubber
    iam: Stubber
    cfn: Stubber


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Clients in moto; chime, iam and cloudformation get Stubbers (moto lacks those calls)."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        clients = Clients.for_region(REGION)
        env = Aws(
            clients, Stubber(clients.chime), Stubber(clients.iam), Stubber(clients.cloudformation)
        )
        for stub in (env.chime, env.iam, env.cfn):
            stub.activate()
        yield env
        for stub in (env.chime, env.iam, env.cfn):
            stub.assert_no_pending_responses()
            stub.deactivate()


def hardened_bucket(s3: Any, name: str, *, kms_key: str = "", lock: bool = False) -> None:
    """A bucket configured like template.yaml's RecordingsBucket."""
    create_recordings_bucket(s3, name, kms_key=kms_key, lock=lock)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    if lock:
        s3.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
            },
        )


def calls_table(ddb: Any, name: str, *, index: bool = True, ttl: bool = True) -> None:
    """A table shaped like template.yaml's CallsTable."""
    attrs = [("pk", "S"), ("sk", "S")] + ([("status", "S"), ("updated_at", "S")] if index else [])
    kwargs: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in attrs],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    }
    if index:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "status-index",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "updated_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    ddb.create_table(**kwargs)
    if ttl:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
        )
    ddb.update_continuous_backups(
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def kms_key(region: str = REGION) -> str:
    return str(boto3.client("kms", region_name=region).create_key()["KeyMetadata"]["Arn"])
