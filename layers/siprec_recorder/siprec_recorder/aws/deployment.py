"""Deployment checks behind `siprec-recorder doctor`.

Each check reads the live configuration and returns Findings (OK/WARN/FAIL, each with a fix)
instead of raising, so one broken piece never hides the others. Only missing credentials or an
unreachable endpoint stop the run (RecorderError): then no finding would mean anything.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from siprec_recorder.aws.deployment_chime import check_rule, check_voice_connector
from siprec_recorder.aws.findings import Finding, error_code, guard, unreachable

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice import ChimeSDKVoiceClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client

PROBE_BODY = b"siprec-recorder doctor probe\n"
_PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
_TTL_ON = "--time-to-live-specification Enabled=true,AttributeName=ttl"


@dataclass(frozen=True)
class Deployment:
    """What to check; empty fields are not checked (and say so)."""

    region: str
    stack: str = ""
    bucket: str = ""
    prefix: str = "recordings/"
    table: str = ""
    voice_connector_id: str = ""
    recorder_role_arn: str = ""
    stream_status_function_arn: str = ""
    rule_name: str = ""
    event_bus: str = "default"


@dataclass(frozen=True)
class Clients:
    """The AWS clients the checks use (tests pass stubbed or moto-backed ones)."""

    s3: S3Client
    iam: IAMClient
    chime: ChimeSDKVoiceClient
    events: EventBridgeClient
    dynamodb: DynamoDBClient
    cloudformation: CloudFormationClient

    @classmethod
    def for_region(cls, region: str) -> Clients:
        s = boto3.session.Session(region_name=region)
        return cls(
            s.client("s3"), s.client("iam"), s.client("chime-sdk-voice"), s.client("events"),
            s.client("dynamodb"), s.client("cloudformation"),
        )  # fmt: skip


def default_region() -> str:
    """The region boto3 would use (AWS_REGION, AWS_DEFAULT_REGION or the profile), or ""."""
    return boto3.session.Session().region_name or ""


# ------------------------------------------------------------------ stack

_FROM_OUTPUTS = {
    "bucket": "RecordingsBucketName",
    "table": "CallsTableName",
    "voice_connector_id": "VoiceConnectorId",
    "recorder_role_arn": "RecorderRoleArn",
    "stream_status_function_arn": "StreamStatusFunctionArn",
    "rule_name": "StreamingStatusRuleName",
}
# Not EventBusName: that bus carries "Recording Available"; AWS sends Chime events to default.
_FROM_PARAMETERS = {"prefix": "RecordingsPrefix"}


def from_stack(cfn: CloudFormationClient, base: Deployment) -> tuple[Deployment, list[Finding]]:
    """Fill the Deployment from the stack's outputs/parameters; explicit values win."""
    try:
        stack = cfn.describe_stacks(StackName=base.stack)["Stacks"][0]
    except ClientError as exc:
        fix = "check --stack and --region (sam deploy prints the stack name)"
        return base, [Finding("stack", "FAIL", f"stack {base.stack!r}: {error_code(exc)}", fix)]
    except BotoCoreError as exc:
        raise unreachable(exc) from exc
    out = {o.get("OutputKey"): o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    par = {p.get("ParameterKey"): p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    found = {f: out[k] for f, k in _FROM_OUTPUTS.items() if out.get(k)}
    found |= {f: par[k] for f, k in _FROM_PARAMETERS.items() if k in par}  # "" is a prefix
    defaults = Deployment(region=base.region)
    explicit = {k: v for k, v in vars(base).items() if v != getattr(defaults, k)}
    status = stack.get("StackStatus", "")
    if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
        finding = Finding("stack", "OK", f"{base.stack} is {status}")
    else:
        fix = "read the stack events, fix the cause and sam deploy again"
        finding = Finding("stack", "FAIL", f"{base.stack} is {status}", fix)
    return replace(base, **(found | explicit)), [finding]


# ------------------------------------------------------------------ bucket


def check_bucket(s3: S3Client, bucket: str) -> tuple[list[Finding], str, bool]:
    """Encryption, versioning, public access block, TLS-only policy, Object Lock.

    Returns the findings, the bucket's default KMS key ("" for SSE-S3) and whether Object
    Lock is on (the probe must not write undeletable objects).
    """
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        fix = "deploy the stack or pass the right --bucket/--region; the caller needs s3:ListBucket"
        return [Finding("bucket", "FAIL", f"{bucket}: {error_code(exc)}", fix)], "", False
    except BotoCoreError as exc:
        raise unreachable(exc) from exc
    kms_key: list[str] = []

    def encryption() -> list[Finding]:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        default = rules["Rules"][0].get("ApplyServerSideEncryptionByDefault", {})
        algo = default.get("SSEAlgorithm", "")
        if not algo.startswith("aws:kms"):
            return [Finding("bucket encryption", "OK", f"default encryption {algo}")]
        kms_key.append(default.get("KMSMasterKeyID", ""))
        return [Finding("bucket encryption", "OK", f"SSE-KMS with {kms_key[0] or 'aws/s3'}")]

    def versioning() -> list[Finding]:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status", "Off")
        if status == "Enabled":
            return [Finding("bucket versioning", "OK", "enabled")]
        fix = f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration "
        detail = f"versioning is {status}"
        return [Finding("bucket versioning", "FAIL", detail, fix + "Status=Enabled")]

    def public_access() -> list[Finding]:
        cfg = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        off = ", ".join(sorted(k for k in _PAB_KEYS if not cfg.get(k)))
        if not off:
            return [Finding("bucket public access block", "OK", "all four settings on")]
        fix = "turn on all four Block Public Access settings"
        return [Finding("bucket public access block", "FAIL", f"off: {off}", fix)]

    def tls_only() -> list[Finding]:
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as exc:
            if error_code(exc) != "NoSuchBucketPolicy":
                raise
            policy = {}
        if any(_denies_plain_http(s) for s in _as_list(policy.get("Statement", []))):
            return [Finding("bucket TLS-only policy", "OK", "plain-HTTP requests are denied")]
        fix = "add a Deny of s3:* when aws:SecureTransport is false (as template.yaml does)"
        return [Finding("bucket TLS-only policy", "WARN", "no aws:SecureTransport deny", fix)]

    findings = guard("bucket encryption", "turn on default encryption", encryption)
    findings += guard("bucket versioning", "the caller needs s3:GetBucketVersioning", versioning)
    findings += guard("bucket public access block", "turn on Block Public Access", public_access)
    findings += guard("bucket TLS-only policy", "the caller needs s3:GetBucketPolicy", tls_only)
    lock = _object_lock(s3, bucket)
    findings.append(Finding("bucket object lock", "OK", lock or "off"))
    return findings, (kms_key or [""])[0], bool(lock)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _denies_plain_http(stmt: Any) -> bool:
    if not isinstance(stmt, dict) or stmt.get("Effect") != "Deny":
        return False
    cond = stmt.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
    return str(cond).lower() == "false" and stmt.get("Principal") in ("*", {"AWS": "*"})


def _object_lock(s3: S3Client, bucket: str) -> str:
    try:
        cfg = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError:
        return ""  # ObjectLockConfigurationNotFoundError: Object Lock is off
    rule = cfg.get("Rule", {}).get("DefaultRetention", {})
    if cfg.get("ObjectLockEnabled") != "Enabled":
        return ""
    return f"{rule.get('Mode', 'no default')} {rule.get('Days', 0)}d {rule.get('Years', 0)}y"


def probe_write(s3: S3Client, bucket: str, prefix: str) -> Finding:
    """Write and delete one small object with the caller's credentials (default encryption)."""
    key = f"{prefix}.doctor/{uuid.uuid4()}.txt"
    try:
        version = s3.put_object(Bucket=bucket, Key=key, Body=PROBE_BODY).get("VersionId")
        if version:  # delete the version itself, not just hide it behind a delete marker
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
        else:
            s3.delete_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        fix = "the KMS key policy or bucket policy may block writes; see CloudTrail for the denial"
        return Finding("bucket write probe", "FAIL", f"put/delete {key}: {error_code(exc)}", fix)
    except BotoCoreError as exc:
        raise unreachable(exc) from exc
    return Finding("bucket write probe", "OK", f"wrote and deleted s3://{bucket}/{key}")


# ------------------------------------------------------------------ recorder role


def check_recorder_role(
    iam: IAMClient,
    role_arn: str,
    bucket: str,
    prefix: str,
    kms_key: str,
    region: str,
    *,
    object_lock: bool = False,
) -> list[Finding]:
    """Simulate the Recorder role's identity policies for the writes a recording needs.

    With Object Lock on, every put carries a retention, which S3 authorises as
    s3:PutObjectRetention: without it every recording write is refused."""
    parts = role_arn.split(":")
    partition, account = (parts[1], parts[4]) if len(parts) >= 6 else ("aws", "")
    obj = f"arn:{partition}:s3:::{bucket}/{prefix}doctor-probe.wav"
    wanted = [("s3:PutObject", obj), ("s3:PutObjectTagging", obj)]
    if object_lock:
        wanted.append(("s3:PutObjectRetention", obj))
    if kms_key:
        key = kms_key if kms_key.startswith(("arn:", "alias/")) else f"key/{kms_key}"
        key = key if key.startswith("arn:") else f"arn:{partition}:kms:{region}:{account}:{key}"
        wanted += [("kms:GenerateDataKey", key), ("kms:Decrypt", key)]

    def simulate() -> list[Finding]:
        out: list[Finding] = []
        for action, resource in wanted:
            res = iam.simulate_principal_policy(
                PolicySourceArn=role_arn, ActionNames=[action], ResourceArns=[resource]
            )["EvaluationResults"]
            decision = res[0]["EvalDecision"] if res else "no result"
            check = f"recorder role {action}"
            if decision == "allowed":
                out.append(Finding(check, "OK", f"allowed on {resource}"))
            else:
                fix = f"allow {action} on {resource} in the RecorderRole policy (template.yaml)"
                out.append(Finding(check, "FAIL", f"{decision} on {resource}", fix))
        return out

    fix = "the caller needs iam:SimulatePrincipalPolicy on the Recorder role (or run --probe)"
    found = guard("recorder role", fix, simulate)
    return [replace(f, status="WARN") if f.check == "recorder role" else f for f in found]


# ------------------------------------------------------------------ voice connector


def check_table(ddb: DynamoDBClient, table: str) -> list[Finding]:
    """The calls table exists, has the sweeper's index, TTL on `ttl`, and PITR."""

    def run() -> list[Finding]:
        desc = ddb.describe_table(TableName=table)["Table"]
        out = [Finding("calls table", "OK", f"{table} is {desc.get('TableStatus')}")]
        if "status-index" not in {
            i.get("IndexName") for i in desc.get("GlobalSecondaryIndexes", [])
        }:
            fix = "deploy the template's CallsTable (the sweeper queries status-index)"
            out.append(Finding("calls table index", "FAIL", "no status-index", fix))
        ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") != "ENABLED" or ttl.get("AttributeName") != "ttl":
            fix = f"aws dynamodb update-time-to-live --table-name {table} {_TTL_ON}"
            out.append(Finding("calls table TTL", "WARN", "TTL on `ttl` is not enabled", fix))
        backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        if pitr != "ENABLED":
            fix = "enable point-in-time recovery on the calls table"
            out.append(Finding("calls table PITR", "WARN", "point-in-time recovery is off", fix))
        return out

    return guard("calls table", "check --table and --region", run)


# ------------------------------------------------------------------ all together


def run_doctor(dep: Deployment, clients: Clients, probe: bool = False) -> list[Finding]:
    """Every check that the Deployment has enough names for; the rest are WARN 'not checked'."""
    findings: list[Finding] = []
    if dep.stack:
        dep, found = from_stack(clients.cloudformation, dep)
        findings += found
    kms_key = ""
    locked = False
    if dep.bucket:
        found, kms_key, locked = check_bucket(clients.s3, dep.bucket)
        findings += found
        if probe and locked:
            detail = "skipped: Object Lock would keep the probe object"
            findings.append(Finding("bucket write probe", "OK", detail))
        elif probe and found[0].check != "bucket":
            findings.append(probe_write(clients.s3, dep.bucket, dep.prefix))
    if dep.recorder_role_arn and dep.bucket:
        findings += check_recorder_role(
            clients.iam,
            dep.recorder_role_arn,
            dep.bucket,
            dep.prefix,
            kms_key,
            dep.region,
            object_lock=locked,
        )
    if dep.voice_connector_id:
        findings += check_voice_connector(clients.chime, dep.voice_connector_id)
    findings += check_rule(
        clients.events, dep.rule_name, dep.stream_status_function_arn, dep.voice_connector_id,
        dep.event_bus,
    )  # fmt: skip
    if dep.table:
        findings += check_table(clients.dynamodb, dep.table)
    return findings + list(_not_checked(dep))


def _not_checked(dep: Deployment) -> Iterable[Finding]:
    for check, value, flag in (
        ("bucket", dep.bucket, "--bucket or --stack"),
        ("recorder role", dep.recorder_role_arn, "--recorder-role or --stack"),
        ("voice connector", dep.voice_connector_id, "--voice-connector-id"),
        ("calls table", dep.table, "--table or --stack"),
    ):
        if not value:
            yield Finding(check, "WARN", "not checked", f"pass {flag}")
