"""doctor: names from the stack, the whole run, the printed report and the exit status."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from siprec_recorder import cli
from siprec_recorder.aws import deployment
from siprec_recorder.aws.deployment import Deployment, from_stack, run_doctor
from siprec_recorder.aws.findings import Finding
from siprec_recorder.commands.doctor import exit_status, print_findings
from tests.doctor.conftest import (
    DLQ_ARN,
    FUNCTION_ARN,
    REGION,
    ROLE_ARN,
    VC,
    Aws,
    calls_table,
    hardened_bucket,
)
from tests.doctor.test_connector_rule_table import GOOD, _connector, _template_pattern

STACK = "siprec-recorder-prod"


def _stack(aws: Aws, status: str = "UPDATE_COMPLETE", vc: str = VC, prefix: str = "calls/") -> None:
    outputs = {
        "RecordingsBucketName": "rec-stack",
        "CallsTableName": "calls-stack",
        "RecorderRoleArn": ROLE_ARN,
        "StreamStatusFunctionArn": FUNCTION_ARN,
        "StreamingStatusRuleName": "siprec-rule",
    }
    if vc:
        outputs["VoiceConnectorId"] = vc
    aws.cfn.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": STACK,
                    "CreationTime": "2026-11-01T00:00:00Z",
                    "StackStatus": status,
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                    "Parameters": [
                        {"ParameterKey": "RecordingsPrefix", "ParameterValue": prefix},
                        {"ParameterKey": "EventBusName", "ParameterValue": "recordings-bus"},
                    ],
                }
            ]
        },
        {"StackName": STACK},
    )


def test_stack_outputs_fill_the_deployment_and_flags_win(aws: Aws) -> None:
    _stack(aws)
    dep, findings = from_stack(
        aws.clients.cloudformation, Deployment(region=REGION, stack=STACK, table="my-table")
    )
    assert [(f.check, f.status) for f in findings] == [("stack", "OK")]
    assert dep == Deployment(
        region=REGION,
        stack=STACK,
        bucket="rec-stack",
        prefix="calls/",
        table="my-table",
        voice_connector_id=VC,
        recorder_role_arn=ROLE_ARN,
        stream_status_function_arn=FUNCTION_ARN,
        rule_name="siprec-rule",
        event_bus="default",
    )


def test_an_empty_recordings_prefix_is_taken_as_deployed(aws: Aws) -> None:
    """The template allows RecordingsPrefix "" (keys at the bucket's root): doctor must probe
    there, not under the default recordings/ (which IAM does not grant that stack)."""
    _stack(aws, prefix="")
    dep, _ = from_stack(aws.clients.cloudformation, Deployment(region=REGION, stack=STACK))
    assert dep.prefix == ""


def test_rolled_back_stack_fails(aws: Aws) -> None:
    _stack(aws, status="UPDATE_ROLLBACK_COMPLETE")
    _, findings = from_stack(aws.clients.cloudformation, Deployment(region=REGION, stack=STACK))
    assert findings[0].status == "FAIL" and "UPDATE_ROLLBACK_COMPLETE" in findings[0].detail


def test_missing_stack_fails_and_keeps_the_flags(aws: Aws) -> None:
    aws.cfn.add_client_error("describe_stacks", "ValidationError", "Stack does not exist")
    base = Deployment(region=REGION, stack=STACK, bucket="b")
    dep, findings = from_stack(aws.clients.cloudformation, base)
    assert dep == base and findings[0].status == "FAIL" and "ValidationError" in findings[0].detail


def _healthy_deployment(aws: Aws) -> None:
    """Everything the stack names, set up right (moto + stubbed responses, in call order)."""
    _stack(aws)
    hardened_bucket(aws.clients.s3, "rec-stack")
    for action in ("s3:PutObject", "s3:PutObjectTagging"):
        aws.iam.add_response(
            "simulate_principal_policy",
            {"EvaluationResults": [{"EvalActionName": action, "EvalDecision": "allowed"}]},
        )
    _connector(aws, GOOD)
    aws.clients.events.put_rule(Name="siprec-rule", EventPattern=json.dumps(_template_pattern(VC)))
    aws.clients.events.put_targets(
        Rule="siprec-rule",
        Targets=[{"Id": "s", "Arn": FUNCTION_ARN, "DeadLetterConfig": {"Arn": DLQ_ARN}}],
    )
    calls_table(aws.clients.dynamodb, "calls-stack")


def test_a_healthy_deployment_has_only_ok_findings(aws: Aws) -> None:
    _healthy_deployment(aws)
    findings = run_doctor(Deployment(region=REGION, stack=STACK), aws.clients)
    assert [f for f in findings if f.status != "OK"] == []
    checks = {f.check for f in findings}
    assert checks >= {
        "stack", "bucket versioning", "recorder role s3:PutObject", "voice connector retention",
        "eventbridge rule siprec-rule", "calls table",
    }  # fmt: skip
    assert exit_status(findings) == 0


def test_cli_exit_codes_and_report(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _healthy_deployment(aws)
    monkeypatch.setattr(deployment.Clients, "for_region", classmethod(lambda cls, r: aws.clients))
    assert cli.main(["doctor", "--stack", STACK, "--region", REGION]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].endswith("OK, 0 WARN, 0 FAIL")
    assert all(line.startswith("[OK  ] ") for line in out.splitlines()[:-1])
    # Only a bucket: the unnamed parts are WARN "not checked", so the exit status is 1.
    assert cli.main(["doctor", "--bucket", "rec-stack", "--region", REGION, "--json"]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"check": "voice connector", "status": "WARN", "detail": "not checked",
            "fix": "pass --voice-connector-id"} in rows  # fmt: skip
    # Without a name the rule is found by its pattern on the default bus.
    assert {(r["check"], r["status"]) for r in rows} >= {("eventbridge rule siprec-rule", "OK")}


def test_cli_refuses_without_anything_to_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["doctor", "--region", REGION]) == 2
    assert "nothing to check" in capsys.readouterr().err


def test_no_credentials_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """No credentials anywhere (and no instance metadata): botocore's NoCredentialsError used
    to escape the bucket check as a traceback (exit 1)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["doctor", "--region", REGION, "--bucket", "some-bucket"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no AWS credentials: set a profile" in err


def test_report_prints_fixes_only_for_problems() -> None:
    findings: list[Any] = [
        Finding("a", "OK", "fine", "unused fix"),
        Finding("b", "FAIL", "broken", "do this"),
        Finding("c", "WARN", "meh", "maybe that"),
    ]
    buf = io.StringIO()
    print_findings(findings, buf)
    assert buf.getvalue().splitlines() == [
        "[OK  ] a: fine",
        "[FAIL] b: broken",
        "       fix: do this",
        "[WARN] c: meh",
        "       fix: maybe that",
        "1 OK, 1 WARN, 1 FAIL",
    ]
    assert exit_status(findings) == 1
    assert exit_status([]) == 1  # nothing checked is not a clean bill of health


def test_doctor_reads_outputs_the_template_really_has() -> None:
    from tests.infra.tpl import template

    outputs = template()["Outputs"]
    for output in deployment._FROM_OUTPUTS.values():
        assert output in outputs, output
    params = template()["Parameters"]
    for param in deployment._FROM_PARAMETERS.values():
        assert param in params, param
    assert outputs["RecorderRoleArn"]["Value"] == {"Fn::GetAtt": ["RecorderRole", "Arn"]}
    assert outputs["StreamingStatusRuleName"]["Value"] == {"Ref": "StreamingStatusRule"}
