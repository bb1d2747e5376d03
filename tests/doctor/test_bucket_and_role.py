"""doctor: the recordings bucket (moto) and the Recorder role simulation (Stubber)."""

from __future__ import annotations

from siprec_recorder.aws.deployment import check_bucket, check_recorder_role, probe_write
from tests.doctor.conftest import ACCOUNT, REGION, ROLE_ARN, Aws, hardened_bucket, kms_key


def _by_check(findings: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {f.check: f.status for f in findings}


def test_a_bucket_built_like_the_template_is_all_ok(aws: Aws) -> None:
    key = kms_key()
    hardened_bucket(aws.clients.s3, "rec-ok", kms_key=key)
    findings, found_key, locked = check_bucket(aws.clients.s3, "rec-ok")
    assert _by_check(findings) == {
        "bucket encryption": "OK",
        "bucket versioning": "OK",
        "bucket public access block": "OK",
        "bucket TLS-only policy": "OK",
        "bucket object lock": "OK",
    }
    assert found_key == key and locked is False
    assert next(f for f in findings if f.check == "bucket encryption").detail.endswith(key)


def test_a_bare_bucket_fails_versioning_and_public_access_and_warns_tls(aws: Aws) -> None:
    aws.clients.s3.create_bucket(Bucket="rec-bare")
    findings, _key, _locked = check_bucket(aws.clients.s3, "rec-bare")
    status = _by_check(findings)
    assert status["bucket versioning"] == "FAIL"
    assert status["bucket public access block"] == "FAIL"
    assert status["bucket TLS-only policy"] == "WARN"
    assert all(f.fix for f in findings if f.status != "OK")


def test_public_access_partly_off_names_the_settings(aws: Aws) -> None:
    hardened_bucket(aws.clients.s3, "rec-pab")
    aws.clients.s3.put_public_access_block(
        Bucket="rec-pab",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    findings, _, _ = check_bucket(aws.clients.s3, "rec-pab")
    pab = next(f for f in findings if f.check == "bucket public access block")
    assert pab.status == "FAIL"
    assert pab.detail == "off: BlockPublicPolicy, RestrictPublicBuckets"


def test_a_missing_bucket_is_one_fail_and_nothing_else(aws: Aws) -> None:
    findings, key, locked = check_bucket(aws.clients.s3, "no-such-bucket")
    assert [(f.check, f.status) for f in findings] == [("bucket", "FAIL")]
    assert (key, locked) == ("", False)


def test_object_lock_is_reported(aws: Aws) -> None:
    hardened_bucket(aws.clients.s3, "rec-lock", lock=True)
    findings, _, locked = check_bucket(aws.clients.s3, "rec-lock")
    assert locked is True
    lock = next(f for f in findings if f.check == "bucket object lock")
    assert lock.detail.startswith("GOVERNANCE 1d")


def test_probe_writes_and_leaves_no_version_behind(aws: Aws) -> None:
    hardened_bucket(aws.clients.s3, "rec-probe")
    # moto's in-process requests carry no aws:SecureTransport, so its policy engine would deny.
    aws.clients.s3.delete_bucket_policy(Bucket="rec-probe")
    finding = probe_write(aws.clients.s3, "rec-probe", "recordings/")
    assert finding.status == "OK"
    assert "s3://rec-probe/recordings/.doctor/" in finding.detail
    versions = aws.clients.s3.list_object_versions(Bucket="rec-probe")
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []


def test_probe_into_a_missing_bucket_fails_with_a_fix(aws: Aws) -> None:
    finding = probe_write(aws.clients.s3, "no-such-bucket", "recordings/")
    assert finding.status == "FAIL" and "NoSuchBucket" in finding.detail and finding.fix


def _sim(aws: Aws, action: str, resource: str, decision: str) -> None:
    aws.iam.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision}
            ]
        },
        {"PolicySourceArn": ROLE_ARN, "ActionNames": [action], "ResourceArns": [resource]},
    )


def test_role_simulation_asks_for_the_object_arn_and_the_key_arn(aws: Aws) -> None:
    obj = "arn:aws:s3:::rec-bucket/recordings/doctor-probe.wav"
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"  # from ROLE_ARN's account
    _sim(aws, "s3:PutObject", obj, "allowed")
    _sim(aws, "s3:PutObjectTagging", obj, "implicitDeny")
    _sim(aws, "kms:GenerateDataKey", key_arn, "allowed")
    _sim(aws, "kms:Decrypt", key_arn, "explicitDeny")
    findings = check_recorder_role(
        aws.clients.iam, ROLE_ARN, "rec-bucket", "recordings/", key_id, REGION
    )
    assert [(f.check, f.status) for f in findings] == [
        ("recorder role s3:PutObject", "OK"),
        ("recorder role s3:PutObjectTagging", "FAIL"),
        ("recorder role kms:GenerateDataKey", "OK"),
        ("recorder role kms:Decrypt", "FAIL"),
    ]
    assert "implicitDeny" in findings[1].detail and "s3:PutObjectTagging" in findings[1].fix


def test_role_simulation_without_kms_only_checks_s3(aws: Aws) -> None:
    obj = "arn:aws:s3:::b/r/doctor-probe.wav"
    _sim(aws, "s3:PutObject", obj, "allowed")
    _sim(aws, "s3:PutObjectTagging", obj, "allowed")
    findings = check_recorder_role(aws.clients.iam, ROLE_ARN, "b", "r/", "", REGION)
    assert [f.status for f in findings] == ["OK", "OK"]


def test_role_simulation_with_object_lock_asks_for_put_object_retention(aws: Aws) -> None:
    """A put with a retention needs s3:PutObjectRetention; a role without it writes nothing."""
    obj = "arn:aws:s3:::b/r/doctor-probe.wav"
    _sim(aws, "s3:PutObject", obj, "allowed")
    _sim(aws, "s3:PutObjectTagging", obj, "allowed")
    _sim(aws, "s3:PutObjectRetention", obj, "implicitDeny")
    findings = check_recorder_role(
        aws.clients.iam, ROLE_ARN, "b", "r/", "", REGION, object_lock=True
    )
    assert [(f.check, f.status) for f in findings][-1] == (
        "recorder role s3:PutObjectRetention",
        "FAIL",
    )


def test_caller_without_simulate_permission_gets_a_warning_not_a_crash(aws: Aws) -> None:
    aws.iam.add_client_error("simulate_principal_policy", "AccessDenied", http_status_code=403)
    findings = check_recorder_role(aws.clients.iam, ROLE_ARN, "b", "r/", "", REGION)
    assert [(f.check, f.status) for f in findings] == [("recorder role", "WARN")]
    assert "iam:SimulatePrincipalPolicy" in findings[0].fix
