"""Least privilege: every identity policy in template.yaml, read as data."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from tests.conftest import CHIME_EVENTS, REPO_ROOT
from tests.infra.tpl import all_iam_statements, allows, as_list, resources, role_statements

# Actions whose service offers no resource-level permission, so Resource must be "*".
UNSCOPABLE = {
    "xray:PutTraceSegments": "X-Ray has no resource types (active tracing)",
    "xray:PutTelemetryRecords": "X-Ray has no resource types (active tracing)",
}

KVS_STREAMS = (
    "arn:${AWS::Partition}:kinesisvideo:${AWS::Region}:${AWS::AccountId}"
    ":stream/ChimeVoiceConnector-*"
)

NAMES = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "111122223333",
    "RecordingsBucket.Arn": "arn:aws:s3:::rec-bucket",
    "RecordingsPrefix": "recordings/",
    "RecordingsKey.Arn": "arn:aws:kms:us-east-1:111122223333:key/rec",
    "SigningKey.Arn": "arn:aws:kms:us-east-1:111122223333:key/sign",
    "CallsTable.Arn": "arn:aws:dynamodb:us-east-1:111122223333:table/calls",
    "RecordingQueue.Arn": "arn:aws:sqs:us-east-1:111122223333:rec-queue",
    "EventDLQ.Arn": "arn:aws:sqs:us-east-1:111122223333:event-dlq",
    "EventBusName": "default",
    "StreamStatusLogGroup.Arn": "arn:aws:logs:us-east-1:111122223333:log-group:ss:*",
    "RecorderLogGroup.Arn": "arn:aws:logs:us-east-1:111122223333:log-group:rec:*",
    "SweeperLogGroup.Arn": "arn:aws:logs:us-east-1:111122223333:log-group:sw:*",
}
CHIME_STREAM = (
    "arn:aws:kinesisvideo:us-east-1:111122223333:stream/"
    "ChimeVoiceConnector-e2xkqmr4vo7bn1nfsdy3wa-3f9a2c71-58de-4b1e-a0c4-6e7d8f9a0b1c/1764140000123"
)
OTHER_STREAM = "arn:aws:kinesisvideo:us-east-1:111122223333:stream/doorbell-camera/1"
BUS = "arn:aws:events:us-east-1:111122223333:event-bus/"
LOGS = "arn:aws:logs:us-east-1:111122223333:log-group:"
ALL_ON = {"UseKms", "SigningOn", "ObjectLockOn"}


def test_roles_exist_one_per_function_and_no_managed_policies() -> None:
    roles = resources("AWS::IAM::Role")
    assert set(roles) == {"StreamStatusRole", "RecorderRole", "SweeperRole"}
    for rid, role in roles.items():
        # Managed policies (AWSLambdaBasicExecutionRole, AWSLambdaSQSQueueExecutionRole...)
        # grant on Resource "*"; everything here is inline and scoped instead.
        assert "ManagedPolicyArns" not in role["Properties"], rid
    for fid, fn in resources("AWS::Serverless::Function").items():
        role = fn["Properties"]["Role"]
        assert role == {"Fn::GetAtt": [fid.replace("Function", "Role"), "Arn"]}
        assert "Policies" not in fn["Properties"], f"{fid}: SAM policies would add managed ones"


def test_no_wildcard_actions_and_star_resources_only_where_unscopable() -> None:
    seen = 0
    for rid, stmt in all_iam_statements():
        seen += 1
        assert stmt["Effect"] == "Allow", f"{rid}: identity policies only allow"
        assert "NotAction" not in stmt and "NotResource" not in stmt, rid
        actions = as_list(stmt["Action"])
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"{rid}: {action}"
        if "*" in as_list(stmt["Resource"]):
            assert set(actions) <= set(UNSCOPABLE), f"{rid}: Resource * for {actions}"
    assert seen >= 20


def test_kvs_actions_only_on_chime_voice_connector_streams() -> None:
    kvs_by_role: dict[str, set[str]] = {}
    for rid, stmt in all_iam_statements():
        actions = {a for a in as_list(stmt["Action"]) if a.startswith("kinesisvideo:")}
        if not actions:
            continue
        assert actions == set(as_list(stmt["Action"])), f"{rid}: KVS mixed with other actions"
        assert as_list(stmt["Resource"]) == [{"Fn::Sub": KVS_STREAMS}], rid
        kvs_by_role.setdefault(rid, set()).update(actions)
    assert kvs_by_role == {
        "RecorderRole": {
            "kinesisvideo:GetDataEndpoint",
            "kinesisvideo:ListFragments",
            "kinesisvideo:GetMediaForFragmentList",
        },
        "SweeperRole": {"kinesisvideo:GetDataEndpoint", "kinesisvideo:ListFragments"},
    }


@pytest.mark.parametrize(
    ("action", "key", "expected"),
    [
        ("s3:PutObject", "recordings/2026/11/26/tx/caller.wav", True),
        ("s3:PutObjectTagging", "recordings/2026/11/26/tx/manifest.json", True),
        ("s3:GetObject", "recordings/2026/11/26/tx/manifest.json", True),
        ("s3:PutObjectRetention", "recordings/2026/11/26/tx/caller.wav", True),
        ("s3:PutObject", "recordings/2026/11/26/tx/quarantine/stream/1.mkv", True),
        ("s3:PutObject", "recordings/work/tx/checkpoint.json", True),
        ("s3:AbortMultipartUpload", "recordings/2026/11/26/tx/caller.wav", True),
        ("s3:PutObject", "quarantine/tx/raw.json", False),
        ("s3:PutObject", "other/tx/caller.wav", False),
        ("s3:PutObject", "recordingsX/caller.wav", False),
        ("s3:DeleteObject", "recordings/2026/11/26/tx/caller.wav", False),
        ("s3:BypassGovernanceRetention", "recordings/x", False),
        ("s3:PutBucketPolicy", "", False),
    ],
)
def test_recorder_s3_access_is_limited_to_its_prefixes(
    action: str, key: str, expected: bool
) -> None:
    arn = f"arn:aws:s3:::rec-bucket/{key}" if key else "arn:aws:s3:::rec-bucket"
    assert allows("RecorderRole", action, arn, NAMES, ALL_ON) is expected


def test_s3_statements_name_the_prefixes_and_list_is_prefix_conditioned() -> None:
    for rid, stmt in all_iam_statements():
        s3 = [a for a in as_list(stmt["Action"]) if a.startswith("s3:")]
        if not s3:
            continue
        assert rid == "RecorderRole", f"{rid} should not touch the bucket"
        if s3 == ["s3:ListBucket"]:
            prefixes = stmt["Condition"]["StringLike"]["s3:prefix"]
            assert prefixes == {"Fn::Sub": "${RecordingsPrefix}*"}
            continue
        subs = {r["Fn::Sub"] for r in as_list(stmt["Resource"])}
        assert subs == {"${RecordingsBucket.Arn}/${RecordingsPrefix}*"}


def test_object_lock_retention_and_kms_grants_follow_their_parameters() -> None:
    key = "arn:aws:s3:::rec-bucket/recordings/a.wav"
    assert not allows("RecorderRole", "s3:PutObjectRetention", key, NAMES, set())
    assert allows("RecorderRole", "s3:PutObjectRetention", key, NAMES, {"ObjectLockOn"})
    rec_key, sign_key = NAMES["RecordingsKey.Arn"], NAMES["SigningKey.Arn"]
    assert not allows("RecorderRole", "kms:Encrypt", rec_key, NAMES, ALL_ON)  # SSE-KMS needs none
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert allows("RecorderRole", action, rec_key, NAMES, {"UseKms"})
        assert not allows("RecorderRole", action, rec_key, NAMES, set())
        assert not allows("RecorderRole", action, sign_key, NAMES, ALL_ON)
    assert allows("RecorderRole", "kms:Sign", sign_key, NAMES, {"SigningOn"})
    assert not allows("RecorderRole", "kms:Sign", sign_key, NAMES, {"UseKms"})
    assert not allows("RecorderRole", "kms:Sign", rec_key, NAMES, ALL_ON)
    for rid in ("StreamStatusRole", "SweeperRole"):
        assert not any(
            a.startswith("kms:") for s in role_statements(rid) for a in as_list(s["Action"])
        )


@pytest.mark.parametrize(
    ("role", "action", "arn", "expected"),
    [
        ("RecorderRole", "kinesisvideo:GetMediaForFragmentList", CHIME_STREAM, True),
        ("RecorderRole", "kinesisvideo:GetMedia", OTHER_STREAM, False),
        ("SweeperRole", "kinesisvideo:ListFragments", CHIME_STREAM, True),
        ("SweeperRole", "kinesisvideo:GetMedia", CHIME_STREAM, False),
        ("StreamStatusRole", "kinesisvideo:ListFragments", CHIME_STREAM, False),
        ("RecorderRole", "events:PutEvents", BUS + "default", True),
        ("RecorderRole", "events:PutEvents", BUS + "other", False),
        ("StreamStatusRole", "events:PutEvents", BUS + "default", False),
        ("StreamStatusRole", "sqs:SendMessage", NAMES["RecordingQueue.Arn"], True),
        ("SweeperRole", "sqs:SendMessage", NAMES["RecordingQueue.Arn"], True),
        ("RecorderRole", "sqs:SendMessage", NAMES["RecordingQueue.Arn"], True),
        ("RecorderRole", "sqs:SendMessage", NAMES["EventDLQ.Arn"], False),
        ("RecorderRole", "sqs:ReceiveMessage", NAMES["RecordingQueue.Arn"], True),
        ("RecorderRole", "sqs:DeleteMessage", NAMES["RecordingQueue.Arn"], True),
        ("StreamStatusRole", "sqs:ReceiveMessage", NAMES["RecordingQueue.Arn"], False),
        ("StreamStatusRole", "sqs:SendMessage", NAMES["EventDLQ.Arn"], True),
        # the table adapter only gets, puts (conditionally) and queries the status index
        ("RecorderRole", "dynamodb:PutItem", NAMES["CallsTable.Arn"], True),
        ("RecorderRole", "dynamodb:UpdateItem", NAMES["CallsTable.Arn"], False),
        ("StreamStatusRole", "dynamodb:PutItem", NAMES["CallsTable.Arn"], True),
        ("StreamStatusRole", "dynamodb:Query", NAMES["CallsTable.Arn"], False),
        ("RecorderRole", "dynamodb:DeleteItem", NAMES["CallsTable.Arn"], False),
        ("RecorderRole", "dynamodb:Scan", NAMES["CallsTable.Arn"], False),
        ("SweeperRole", "dynamodb:Query", NAMES["CallsTable.Arn"] + "/index/status-index", True),
        ("RecorderRole", "dynamodb:Query", NAMES["CallsTable.Arn"] + "/index/status-index", False),
        ("RecorderRole", "logs:PutLogEvents", LOGS + "rec:log-stream:x", True),
        ("RecorderRole", "logs:PutLogEvents", LOGS + "ss:log-stream:x", False),
        ("RecorderRole", "cloudwatch:PutMetricData", "*", False),
    ],
)  # fmt: skip
def test_each_role_gets_what_its_function_needs_and_no_more(
    role: str, action: str, arn: str, expected: bool
) -> None:
    assert allows(role, action, arn, NAMES, ALL_ON) is expected


def test_sam_transform_adds_no_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """SAM silently attaches AWSLambdaBasicExecutionRole etc. to roles it creates: none here."""
    from samtranslator.translator.transform import transform

    from tests.infra.tpl import template

    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    tpl = copy.deepcopy(template())  # the translator edits its input in place
    for res in tpl["Resources"].values():
        for uri in ("CodeUri", "ContentUri"):
            if uri in res.get("Properties", {}):
                res["Properties"][uri] = "s3://bucket/code.zip"  # the translator wants S3 URIs

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    out = transform(tpl, {}, NoManagedPolicies())["Resources"]
    roles = {k: v for k, v in out.items() if v["Type"] == "AWS::IAM::Role"}
    assert set(roles) == {"StreamStatusRole", "RecorderRole", "SweeperRole"}
    assert all("ManagedPolicyArns" not in r["Properties"] for r in roles.values())
    esm = [v for v in out.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(esm) == 1
    assert esm[0]["Properties"]["BatchSize"] == 1
    assert esm[0]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    fn = out["RecorderFunction"]["Properties"]
    assert fn["Timeout"] == 900 and fn["Architectures"] == ["arm64"]
    assert fn["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize(
    "event_file",
    [
        REPO_ROOT / "events" / "stream-status-started.json",
        CHIME_EVENTS / "pstn-streaming-started.json",
        CHIME_EVENTS / "pstn-streaming-ended.json",
    ],
)
def test_recorder_may_read_the_streams_real_events_name(event_file: Path) -> None:
    """The streamArn of real Chime events (and our sample) falls inside the KVS grant."""
    detail = json.loads(event_file.read_text(encoding="utf-8"))["detail"]
    arn = detail["streamArn"]
    region, account = arn.split(":")[3], arn.split(":")[4]
    names = dict(NAMES, **{"AWS::Region": region, "AWS::AccountId": account})
    for action in ("kinesisvideo:GetDataEndpoint", "kinesisvideo:ListFragments",
                   "kinesisvideo:GetMediaForFragmentList"):  # fmt: skip
        assert allows("RecorderRole", action, arn, names, ALL_ON), action
    # the code never calls GetMedia (it lists fragments and fetches them by number)
    assert not allows("RecorderRole", "kinesisvideo:GetMedia", arn, names, ALL_ON)
    other_account = dict(names, **{"AWS::AccountId": "999999999999"})
    read = "kinesisvideo:GetMediaForFragmentList"
    assert not allows("RecorderRole", read, arn, other_account, ALL_ON)
