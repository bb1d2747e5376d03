"""The stack's resources: storage hardening, queues, the Chime rule, functions, alarms."""

from __future__ import annotations

from typing import Any

import pytest

import siprec_recorder.config as config
from tests.infra.tpl import as_list, branches, props, resources, role_statements, template

ENV_NAMES_FROM_BRIEF = {
    "CALLS_TABLE", "RECORDINGS_BUCKET", "RECORDINGS_PREFIX", "RECORDING_QUEUE_URL",
    "EVENT_BUS_NAME", "EVENT_SOURCE", "OUTPUT_FORMAT", "SSE_KMS_KEY_ID", "SIGNING_KEY_ID",
    "OBJECT_LOCK_MODE", "OBJECT_LOCK_DAYS", "REPORT_ENABLED", "AGENT_AOR_PATTERN",
    "RECORDER_TIME_BUDGET_SECONDS", "SWEEP_ENDED_TIMEOUT_MINUTES", "SWEEP_STREAM_GRACE_MINUTES",
    "CALL_TTL_DAYS", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}  # fmt: skip


def _globals_fn() -> dict[str, Any]:
    return dict(template()["Globals"]["Function"])


def test_bucket_blocks_public_access_and_is_versioned() -> None:
    bucket = props("RecordingsBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert template()["Resources"]["RecordingsBucket"]["DeletionPolicy"] == "Retain"


def test_bucket_encryption_is_kms_with_the_stack_key_or_sse_s3() -> None:
    (rule,) = props("RecordingsBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["Fn::If"][0] == "UseKms"
    kms, s3 = rule["Fn::If"][1], rule["Fn::If"][2]
    assert kms["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["RecordingsKey", "Arn"]},
    }
    assert kms["BucketKeyEnabled"] is True
    assert s3["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    key = props("RecordingsKey")
    assert key["EnableKeyRotation"] is True
    for stmt in key["KeyPolicy"]["Statement"]:
        assert "kms:*" not in stmt["Action"]
    signing = props("SigningKey")
    assert (signing["KeySpec"], signing["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    assert template()["Resources"]["SigningKey"]["Condition"] == "SigningOn"


def test_bucket_policy_denies_every_request_without_tls() -> None:
    (policy,) = resources("AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "RecordingsBucket"}
    denies = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denies) == 1
    deny = denies[0]
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [
        {"Fn::GetAtt": ["RecordingsBucket", "Arn"]},
        {"Fn::Sub": "${RecordingsBucket.Arn}/*"},
    ]


def test_every_queue_denies_requests_without_tls() -> None:
    queues = set(resources("AWS::SQS::Queue"))
    covered: set[str] = set()
    for policy in resources("AWS::SQS::QueuePolicy").values():
        doc = policy["Properties"]["PolicyDocument"]
        (deny,) = [s for s in doc["Statement"] if s["Effect"] == "Deny"]
        assert deny["Principal"] == "*" and deny["Action"] == "sqs:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        named = {q["Ref"] for q in policy["Properties"]["Queues"]}
        denied = {r["Fn::GetAtt"][0] for r in as_list(deny["Resource"])}
        assert denied == named
        covered |= named
    assert covered == queues == {"RecordingQueue", "RecordingDLQ", "EventDLQ"}


def test_alarm_topic_key_lets_cloudwatch_publish() -> None:
    """Alarms cannot publish to a topic under the AWS-managed aws/sns key, whose policy does
    not admit cloudwatch.amazonaws.com: the topic has its own key that does."""
    topic = props("AlarmTopic")
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = resources("AWS::KMS::Key")["AlarmTopicKey"]
    assert "Condition" not in key and "Condition" not in resources()["AlarmTopic"]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (cw,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cw["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cw["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # the account's own principals (a test publish, a later publisher) use it through IAM
    account = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    uses = [s for s in statements if s.get("Principal") == account and "kms:Decrypt" in s["Action"]]
    assert len(uses) == 1 and set(uses[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert key["Properties"]["EnableKeyRotation"] is True


def test_object_lock_is_set_at_creation_only_when_chosen() -> None:
    params = template()["Parameters"]
    assert params["ObjectLockMode"]["AllowedValues"] == ["Off", "GOVERNANCE", "COMPLIANCE"]
    bucket = props("RecordingsBucket")
    assert bucket["ObjectLockEnabled"] == {
        "Fn::If": ["ObjectLockOn", True, {"Ref": "AWS::NoValue"}]
    }
    cfg = bucket["ObjectLockConfiguration"]["Fn::If"]
    assert cfg[0] == "ObjectLockOn"
    assert cfg[1]["Rule"]["DefaultRetention"] == {
        "Mode": {"Ref": "ObjectLockMode"},
        "Days": {"Ref": "ObjectLockDays"},
    }
    cond = template()["Conditions"]["ObjectLockOn"]
    assert cond == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ObjectLockMode"}, "Off"]}]}


def test_lifecycle_archives_and_expires_by_parameter() -> None:
    rules = props("RecordingsBucket")["LifecycleConfiguration"]["Rules"]
    concrete = [r for rule in rules for r in branches(rule)]
    archive = next(r for r in concrete if r["Id"] == "archive")
    assert archive["Transitions"] == [
        {
            "StorageClass": {"Ref": "ArchiveStorageClass"},
            "TransitionInDays": {"Ref": "ArchiveAfterDays"},
        }
    ]
    expire = next(r for r in concrete if r["Id"] == "expire")
    assert expire["ExpirationInDays"] == {"Ref": "ExpireAfterDays"}
    assert {r["Fn::If"][0] for r in rules if "Fn::If" in r} == {"HasArchive", "HasExpiry"}
    # The Recorder's checkpoint files expire by lifecycle (it has no s3:DeleteObject).
    work = next(r for r in concrete if r["Id"] == "expire-work-files")
    assert work["Prefix"] == {"Fn::Sub": "${RecordingsPrefix}work/"}
    assert work["ExpirationInDays"] == {"Ref": "WorkFilesExpireDays"}


def test_calls_table_keys_index_ttl_pitr_and_sse() -> None:
    table = props("CallsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    attrs = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert attrs == {"pk": "S", "sk": "S", "status": "S", "updated_at": "S"}
    (gsi,) = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "status-index"
    assert gsi["KeySchema"] == [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "updated_at", "KeyType": "RANGE"},
    ]
    # ALL for good: CloudFormation cannot change a deployed index's projection
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_recording_queue_has_a_dlq_and_outlives_the_recorder() -> None:
    queue = props("RecordingQueue")
    recorder_timeout = props("RecorderFunction")["Timeout"]
    assert recorder_timeout == 900
    assert queue["VisibilityTimeout"] >= 6 * recorder_timeout
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["RecordingDLQ", "Arn"]},
        "maxReceiveCount": {"Ref": "RecordingMaxReceiveCount"},
    }
    for qid in resources("AWS::SQS::Queue"):
        assert props(qid)["SqsManagedSseEnabled"] is True, qid
    for dlq in ("RecordingDLQ", "EventDLQ"):
        assert props(dlq)["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_recorder_consumes_one_job_at_a_time_with_partial_failures() -> None:
    rec = props("RecorderFunction")
    job = rec["Events"]["RecordingJobs"]
    assert job["Type"] == "SQS"
    assert job["Properties"] == {
        "Queue": {"Fn::GetAtt": ["RecordingQueue", "Arn"]},
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "RecorderMaximumConcurrency"}},
    }
    assert rec["MemorySize"] == {"Ref": "RecorderMemorySize"}
    assert rec["EphemeralStorage"] == {"Size": {"Ref": "RecorderEphemeralStorageSize"}}
    assert "RecorderReservedConcurrency" in str(rec["ReservedConcurrentExecutions"])


def test_chime_rule_pattern_target_retry_and_dlq() -> None:
    rule = props("StreamingStatusRule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.chime"]
    assert pattern["detail-type"] == ["Chime VoiceConnector Streaming Status"]
    assert pattern["detail"] == {
        "Fn::If": [
            "HasVoiceConnectorFilter",
            {"voiceConnectorId": [{"Ref": "VoiceConnectorId"}]},
            {"Ref": "AWS::NoValue"},
        ]
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["StreamStatusFunction", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["EventDLQ", "Arn"]}}
    assert set(target["RetryPolicy"]) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
    perm = props("StreamingStatusRulePermission")
    assert perm["Principal"] == "events.amazonaws.com"
    assert perm["SourceArn"] == {"Fn::GetAtt": ["StreamingStatusRule", "Arn"]}
    statements = props("EventDLQPolicy")["PolicyDocument"]["Statement"]
    (dlq_policy,) = [s for s in statements if s["Effect"] == "Allow"]
    assert dlq_policy["Principal"] == {"Service": "events.amazonaws.com"}
    assert dlq_policy["Condition"]["ArnEquals"]["aws:SourceArn"] == perm["SourceArn"]
    failed = props("StreamStatusFunction")["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert failed == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["EventDLQ", "Arn"]}}


def test_functions_code_handlers_runtime_and_schedule() -> None:
    glob = _globals_fn()
    assert glob["Runtime"] == "python3.13"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Tracing"] == "Active"
    fns = resources("AWS::Serverless::Function")
    assert {
        k: (v["Properties"]["CodeUri"], v["Properties"]["Handler"]) for k, v in fns.items()
    } == {
        "StreamStatusFunction": ("functions/stream_status/", "app.lambda_handler"),
        "RecorderFunction": ("functions/recorder/", "app.lambda_handler"),
        "SweeperFunction": ("functions/sweeper/", "app.lambda_handler"),
    }
    sweep = props("SweeperFunction")["Events"]["Sweep"]
    assert sweep["Type"] == "Schedule"
    assert sweep["Properties"]["Schedule"] == {"Ref": "SweepSchedule"}
    assert template()["Parameters"]["SweepSchedule"]["Default"] == "rate(5 minutes)"


def test_layers_build_for_python313_arm64_and_powertools_is_the_public_arm64_layer() -> None:
    layers = resources("AWS::Serverless::LayerVersion")
    assert layers["DepsLayer"]["Properties"]["ContentUri"] == "layers/deps/"
    assert layers["PackageLayer"]["Properties"]["ContentUri"] == "layers/siprec_recorder/"
    for layer in layers.values():
        # built by the Makefile in ContentUri (to ship bytecode), for the functions' arm64
        assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    glob_layers = _globals_fn()["Layers"]
    assert glob_layers[:2] == [{"Ref": "DepsLayer"}, {"Ref": "PackageLayer"}]
    powertools = glob_layers[2]["Fn::Sub"]
    assert powertools.endswith(
        ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:${PowertoolsLayerVersion}"
    )


def test_environment_names_match_config_and_the_brief() -> None:
    env = _globals_fn()["Environment"]["Variables"]
    from_config = {v for k, v in vars(config).items() if k.startswith("ENV_")}
    recorder_only = {config.ENV_MAX_RECEIVES}
    escape_hatch = {config.ENV_DECODER_FAST}  # set by an operator by hand, never by the template
    assert from_config - recorder_only - escape_hatch <= set(env), from_config - set(env)
    assert not escape_hatch & set(env)
    assert set(env) == ENV_NAMES_FROM_BRIEF
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "SiprecRecorder"
    # One environment for all in Globals; the Recorder adds the one name its handler reads.
    fn_env = {
        fid: fn["Properties"].get("Environment", {}).get("Variables", {})
        for fid, fn in resources("AWS::Serverless::Function").items()
    }
    assert fn_env == {
        "StreamStatusFunction": {},
        "RecorderFunction": {"RECORDER_MAX_RECEIVES": {"Ref": "RecordingMaxReceiveCount"}},
        "SweeperFunction": {},
    }
    assert config.Settings.from_env({config.ENV_MAX_RECEIVES: "5"}).max_receives == 5


@pytest.mark.parametrize(
    "prefix",
    [
        "recordings/",
        "a/b.c/2026-calls/",
        "",
        "_archive/",
        "archive_/",
        "rec ordings/",
        "a//b/",
        "../up/",
        "r" * 128 + "/",
        "r" * 129 + "/",
        "caf\u00e9/",
    ],
)
def test_the_prefix_the_template_accepts_is_the_one_the_functions_accept(prefix: str) -> None:
    """IAM grants ${RecordingsPrefix}*, and the keys are built from the prefix made safe: a
    prefix the template lets through but the code would rename (`_archive/` became
    `archive-<hash>/`) would have every write refused. Both must agree on every value."""
    import re

    from siprec_recorder.errors import RecorderError

    pattern = template()["Parameters"]["RecordingsPrefix"]["AllowedPattern"]
    deployable = re.fullmatch(pattern, prefix) is not None
    try:
        accepted = config.Settings.from_env({config.ENV_PREFIX: prefix}).prefix == prefix
    except RecorderError:
        accepted = False
    assert deployable == accepted


def test_every_alarm_notifies_even_without_an_alarm_email() -> None:
    """The topic always exists (a deployer without AlarmEmail subscribes a pager or chat to
    it); before, no AlarmEmail meant eleven alarms with no action at all."""
    for name, alarm in resources("AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    assert props("AlarmTopic")["Subscription"] == {
        "Fn::If": [
            "HasAlarmEmail",
            [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}],
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert "Condition" not in template()["Outputs"]["AlarmTopicArn"]


def test_standard_ia_archives_only_objects_thirty_days_old() -> None:
    """S3 refuses a STANDARD_IA transition before 30 days (the stack would roll back); the
    template's rule refuses those values first. 0 means no archiving at all."""
    rule = template()["Rules"]["StandardIaNeedsThirtyDays"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "ArchiveStorageClass"}, "STANDARD_IA"]}
    (assertion,) = rule["Assertions"]
    refused, ref = assertion["Assert"]["Fn::Not"][0]["Fn::Contains"]
    assert ref == {"Ref": "ArchiveAfterDays"}
    assert set(refused) == {str(d) for d in range(1, 30)}


def test_the_recorder_may_put_only_its_own_event() -> None:
    from siprec_recorder.aws.events import DETAIL_TYPE

    (stmt,) = [
        s for s in role_statements("RecorderRole") if s.get("Sid") == "RecordingAvailableEvents"
    ]
    assert stmt["Condition"] == {
        "StringEquals": {"events:source": {"Ref": "EventSource"}, "events:detail-type": DETAIL_TYPE}
    }
    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["EVENT_SOURCE"] == {"Ref": "EventSource"}


def test_a_non_number_in_a_numeric_variable_names_the_variable() -> None:
    from siprec_recorder.errors import RecorderError

    with pytest.raises(RecorderError, match="RECORDER_TIME_BUDGET_SECONDS must be a whole number"):
        config.Settings.from_env({config.ENV_TIME_BUDGET: "abc"})


def test_alarms_cover_dlqs_function_errors_and_custom_metrics() -> None:
    every = resources("AWS::CloudWatch::Alarm")
    backlog = every.pop("RecordingBacklogAlarm")["Properties"]
    # jobs waiting for half an hour without a break: the Recorder is down, throttled or behind
    # (the sweeper only resends such a job, it never fails the call for it). Not the age of the
    # oldest message: that counts a job waiting out its 90-minute visibility timeout for a retry
    assert backlog["Namespace"] == "AWS/SQS"
    assert backlog["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert backlog["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["RecordingQueue", "QueueName"]}
    assert backlog["Statistic"] == "Minimum" and backlog["Threshold"] == 0
    assert backlog["ComparisonOperator"] == "GreaterThanThreshold"
    assert backlog["Period"] * backlog["EvaluationPeriods"] == 1800
    assert backlog["DatapointsToAlarm"] == backlog["EvaluationPeriods"]
    alarms = [a["Properties"] for a in every.values()]
    for a in alarms:
        assert a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold"
    sqs = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms if a["Namespace"] == "AWS/SQS"
    }
    assert sqs == {"RecordingDLQ", "EventDLQ"}
    lam = {
        a["Dimensions"][0]["Value"]["Ref"]
        for a in alarms
        if a["Namespace"] == "AWS/Lambda" and a["MetricName"] == "Errors"
    }
    assert lam == set(resources("AWS::Serverless::Function"))
    custom = {
        a["MetricName"]: a["Dimensions"] for a in alarms if a["Namespace"] == "SiprecRecorder"
    }
    assert set(custom) == {
        "FailedCalls",
        "OneWayRecordings",
        "GhostRecordingRisk",
        "LateStreams",
        "SweepErrors",
    }
    for dims in custom.values():
        assert dims == [{"Name": "service", "Value": {"Ref": "ServiceName"}}]
    assert _globals_fn()["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == {
        "Ref": "ServiceName"
    }


def test_outputs_name_everything_doctor_and_operators_need() -> None:
    outputs = template()["Outputs"]
    for name in (
        "RecordingsBucketName", "CallsTableName", "RecordingQueueUrl", "RecordingDLQUrl",
        "EventDLQUrl", "StreamStatusFunctionArn", "RecorderFunctionArn", "SweeperFunctionArn",
        "RecorderRoleArn", "StreamingStatusRuleName", "RecordingsKeyArn", "SigningKeyArn",
    ):  # fmt: skip
        assert name in outputs, name


def test_recording_jobs_get_five_attempts_everywhere() -> None:
    """AWS advises a maxReceiveCount of at least 5 for SQS event sources; the Recorder fails
    the call on the last receive, so its default must be the template's default."""
    default = template()["Parameters"]["RecordingMaxReceiveCount"]["Default"]
    assert default == 5 == config.MAX_RECEIVES == config.Settings().max_receives


def test_every_log_retention_cloudwatch_offers_can_be_chosen() -> None:
    """The list comes from AWS's resource schema for AWS::Logs::LogGroup (as cfn-lint ships it):
    seven years (2557 days), a common records rule, was missing."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Logs::LogGroup")
    offered = schema.schema["properties"]["RetentionInDays"]["enum"]
    assert template()["Parameters"]["LogRetentionDays"]["AllowedValues"] == offered
