"""doctor: Voice Connector streaming (Stubber), the Chime rule and the calls table (moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from siprec_recorder.aws.deployment import check_table
from siprec_recorder.aws.deployment_chime import check_rule, check_voice_connector
from tests.doctor.conftest import DLQ_ARN, FUNCTION_ARN, VC, Aws, calls_table
from tests.infra.tpl import props

ARGS = {"VoiceConnectorId": VC}


def _connector(aws: Aws, streaming: dict[str, Any] | None, *, encrypted: bool = True) -> None:
    aws.chime.add_response(
        "get_voice_connector",
        {"VoiceConnector": {"VoiceConnectorId": VC, "RequireEncryption": encrypted}},
        ARGS,
    )
    if streaming is None:
        aws.chime.add_client_error(
            "get_voice_connector_streaming_configuration", "NotFoundException", 404
        )
    else:
        aws.chime.add_response(
            "get_voice_connector_streaming_configuration",
            {"StreamingConfiguration": streaming},
            ARGS,
        )
    aws.chime.add_response(
        "get_voice_connector_logging_configuration",
        {"LoggingConfiguration": {"EnableSIPLogs": True, "EnableMediaMetricLogs": False}},
        ARGS,
    )


GOOD = {
    "DataRetentionInHours": 24,
    "Disabled": False,
    "StreamingNotificationTargets": [{"NotificationTarget": "EventBridge"}],
}


def _status(findings: list[Any]) -> dict[str, str]:
    return {f.check: f.status for f in findings}


def test_a_connector_set_up_for_siprec_is_all_ok(aws: Aws) -> None:
    _connector(aws, GOOD)
    assert _status(check_voice_connector(aws.clients.chime, VC)) == {
        "voice connector": "OK",
        "voice connector streaming": "OK",
        "voice connector retention": "OK",
        "voice connector notifications": "OK",
        "voice connector SIP logs": "OK",
    }


@pytest.mark.parametrize(
    ("change", "check", "status"),
    [
        ({"DataRetentionInHours": 0}, "voice connector retention", "FAIL"),
        ({"DataRetentionInHours": 1}, "voice connector retention", "WARN"),
        ({"Disabled": True}, "voice connector streaming", "FAIL"),
        (
            {"StreamingNotificationTargets": [{"NotificationTarget": "SQS"}]},
            "voice connector notifications",
            "FAIL",
        ),
        ({"StreamingNotificationTargets": None}, "voice connector notifications", "FAIL"),
        (
            {"MediaInsightsConfiguration": {"Disabled": False, "ConfigurationArn": "arn:aws:x"}},
            "voice connector media insights",
            "WARN",
        ),
    ],
)
def test_each_streaming_misconfiguration_is_named(
    aws: Aws, change: dict[str, Any], check: str, status: str
) -> None:
    _connector(aws, {k: v for k, v in (GOOD | change).items() if v is not None})
    findings = check_voice_connector(aws.clients.chime, VC)
    bad = [f for f in findings if f.status != "OK"]
    assert [(f.check, f.status) for f in bad] == [(check, status)]
    assert bad[0].fix


def test_streaming_never_configured_fails_with_the_command_to_fix_it(aws: Aws) -> None:
    _connector(aws, None)
    findings = check_voice_connector(aws.clients.chime, VC)
    streaming = next(f for f in findings if f.check == "voice connector streaming")
    assert streaming.status == "FAIL"
    assert f"--voice-connector-id {VC}" in streaming.fix
    assert "NotificationTarget=EventBridge" in streaming.fix


def test_unencrypted_connector_is_a_warning(aws: Aws) -> None:
    _connector(aws, GOOD, encrypted=False)
    assert _status(check_voice_connector(aws.clients.chime, VC))["voice connector"] == "WARN"


def test_unknown_connector_is_one_fail(aws: Aws) -> None:
    aws.chime.add_client_error("get_voice_connector", "NotFoundException", 404)
    findings = check_voice_connector(aws.clients.chime, VC)
    assert [(f.check, f.status) for f in findings] == [("voice connector", "FAIL")]


def _template_pattern(vc: str) -> dict[str, Any]:
    """The EventPattern template.yaml deploys, with the VoiceConnectorId filter applied."""
    pattern = dict(props("StreamingStatusRule")["EventPattern"])
    if vc:
        pattern["detail"] = {"voiceConnectorId": [vc]}
    else:
        pattern.pop("detail")
    return pattern


def _rule(aws: Aws, name: str, pattern: dict[str, Any], target: str, dlq: bool = True) -> None:
    aws.clients.events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    t: dict[str, Any] = {"Id": "StreamStatusFunction", "Arn": target}
    if dlq:
        t["DeadLetterConfig"] = {"Arn": DLQ_ARN}
    aws.clients.events.put_targets(Rule=name, Targets=[t])


def test_the_templates_rule_targeting_the_function_is_ok(aws: Aws) -> None:
    _rule(aws, "siprec-rule", _template_pattern(VC), FUNCTION_ARN)
    findings = check_rule(aws.clients.events, "siprec-rule", FUNCTION_ARN, VC)
    assert [(f.check, f.status) for f in findings] == [("eventbridge rule siprec-rule", "OK")]


def test_rule_is_found_by_its_pattern_when_not_named(aws: Aws) -> None:
    aws.clients.events.put_rule(Name="unrelated", EventPattern='{"source": ["aws.s3"]}')
    _rule(aws, "found-me", _template_pattern(""), FUNCTION_ARN + ":$LATEST", dlq=False)
    findings = check_rule(aws.clients.events, "", FUNCTION_ARN, VC)
    assert [(f.check, f.status) for f in findings] == [
        ("eventbridge rule found-me", "OK"),
        ("eventbridge rule found-me DLQ", "WARN"),
    ]


@pytest.mark.parametrize(
    ("pattern_vc", "target", "state", "expected"),
    [
        ("otherconnector", FUNCTION_ARN, "ENABLED", "filters other Voice Connectors"),
        (VC, FUNCTION_ARN.replace("StreamStatus", "Other"), "ENABLED", "does not target"),
        (VC, FUNCTION_ARN, "DISABLED", "state DISABLED"),
    ],
)
def test_rule_problems_fail(
    aws: Aws, pattern_vc: str, target: str, state: str, expected: str
) -> None:
    _rule(aws, "r", _template_pattern(pattern_vc), target)
    if state == "DISABLED":
        aws.clients.events.disable_rule(Name="r")
    (finding,) = check_rule(aws.clients.events, "r", FUNCTION_ARN, VC)
    assert finding.status == "FAIL" and expected in finding.detail and finding.fix


def test_no_rule_at_all_fails(aws: Aws) -> None:
    (finding,) = check_rule(aws.clients.events, "", FUNCTION_ARN, VC)
    assert finding.status == "FAIL" and "Chime VoiceConnector Streaming Status" in finding.detail


def test_a_named_rule_that_does_not_exist_fails(aws: Aws) -> None:
    (finding,) = check_rule(aws.clients.events, "gone", FUNCTION_ARN, VC)
    assert finding.status == "FAIL" and "ResourceNotFoundException" in finding.detail


def test_calls_table_like_the_template_is_ok(aws: Aws) -> None:
    calls_table(aws.clients.dynamodb, "calls")
    assert [(f.check, f.status) for f in check_table(aws.clients.dynamodb, "calls")] == [
        ("calls table", "OK")
    ]


def test_calls_table_without_index_or_ttl_is_reported(aws: Aws) -> None:
    calls_table(aws.clients.dynamodb, "calls", index=False, ttl=False)
    status = _status(check_table(aws.clients.dynamodb, "calls"))
    assert status == {"calls table": "OK", "calls table index": "FAIL", "calls table TTL": "WARN"}


def test_missing_table_fails(aws: Aws) -> None:
    (finding,) = check_table(aws.clients.dynamodb, "nope")
    assert finding.status == "FAIL" and "ResourceNotFoundException" in finding.detail
