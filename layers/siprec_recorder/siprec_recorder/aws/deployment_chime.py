"""Doctor checks on the Chime side: the Voice Connector's streaming and the EventBridge rule."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siprec_recorder.aws.findings import Finding, error_code, guard

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice import ChimeSDKVoiceClient
    from mypy_boto3_events import EventBridgeClient

DETAIL_TYPE = "Chime VoiceConnector Streaming Status"
MIN_RETENTION_HOURS = 24  # failed jobs are retried after the 90-minute visibility timeout


def check_voice_connector(chime: ChimeSDKVoiceClient, vc_id: str) -> list[Finding]:
    """Streaming on, media kept long enough to read after the call, EventBridge notifications."""
    put = (
        f"aws chime-sdk-voice put-voice-connector-streaming-configuration --voice-connector-id "
        f"{vc_id} --streaming-configuration 'DataRetentionInHours={MIN_RETENTION_HOURS},"
        "Disabled=false,StreamingNotificationTargets=[{NotificationTarget=EventBridge}]'"
    )

    def connector() -> list[Finding]:
        vc = chime.get_voice_connector(VoiceConnectorId=vc_id)["VoiceConnector"]
        if vc.get("RequireEncryption"):
            return [Finding("voice connector", "OK", f"{vc_id} exists, TLS/SRTP required")]
        fix = "enable encryption on the Voice Connector; use TLS + SRTP on the Genesys trunk"
        return [Finding("voice connector", "WARN", f"{vc_id} does not require encryption", fix)]

    def streaming() -> list[Finding]:
        try:
            cfg = chime.get_voice_connector_streaming_configuration(VoiceConnectorId=vc_id)
        except ClientError as exc:
            if error_code(exc) != "NotFoundException":
                raise
            return [Finding("voice connector streaming", "FAIL", "not configured", put)]
        return _streaming_findings(cfg["StreamingConfiguration"], put)

    def logging() -> list[Finding]:
        cfg = chime.get_voice_connector_logging_configuration(VoiceConnectorId=vc_id)
        sip = cfg["LoggingConfiguration"].get("EnableSIPLogs", False)
        note = "on" if sip else "off (turn on while setting up SIPREC to see the INVITEs)"
        return [Finding("voice connector SIP logs", "OK", note)]

    out = guard("voice connector", "check --voice-connector-id and --region", connector)
    if out[0].status == "FAIL":
        return out
    return (
        out
        + guard("voice connector streaming", put, streaming)
        + guard("voice connector SIP logs", "", logging)
    )


def _streaming_findings(cfg: Any, put: str) -> list[Finding]:
    if cfg.get("Disabled", False):
        detail = "streaming to Kinesis Video Streams is disabled"
        return [Finding("voice connector streaming", "FAIL", detail, put)]
    out = [Finding("voice connector streaming", "OK", "streaming to Kinesis Video Streams is on")]
    hours = int(cfg.get("DataRetentionInHours", 0))
    if hours < 1:
        detail = f"DataRetentionInHours={hours}: KVS keeps nothing to read after the call"
        out.append(Finding("voice connector retention", "FAIL", detail, put))
    elif hours < MIN_RETENTION_HOURS:
        detail = f"DataRetentionInHours={hours}: retried jobs may find the media gone"
        out.append(Finding("voice connector retention", "WARN", detail, put))
    else:
        out.append(Finding("voice connector retention", "OK", f"{hours} hours"))
    targets = sorted(
        str(t.get("NotificationTarget")) for t in cfg.get("StreamingNotificationTargets", [])
    )
    if "EventBridge" in targets:
        out.append(Finding("voice connector notifications", "OK", "EventBridge"))
    else:
        detail = f"targets {targets or 'none'}: no Streaming Status events reach the stack"
        out.append(Finding("voice connector notifications", "FAIL", detail, put))
    insights = cfg.get("MediaInsightsConfiguration", {})
    if insights and not insights.get("Disabled", True):
        fix = "detach the Media Insights configuration unless you also want Chime call analytics"
        detail = "a Media Insights pipeline is attached (records/analyses calls separately)"
        out.append(Finding("voice connector media insights", "WARN", detail, fix))
    return out


# ------------------------------------------------------------------ rule and table


def check_rule(
    events: EventBridgeClient, rule_name: str, function_arn: str, vc_id: str, bus: str = "default"
) -> list[Finding]:
    """The Streaming Status rule exists, is enabled, matches, and targets StreamStatus."""
    fix = "sam deploy again (the StreamingStatusRule resource) or pass --stack"

    def run() -> list[Finding]:
        names = [rule_name] if rule_name else _chime_rules(events, bus)
        if not names:
            detail = f"no rule on bus {bus} matches {DETAIL_TYPE}"
            return [Finding("eventbridge rule", "FAIL", detail, fix)]
        return [f for name in names for f in _one_rule(events, name, function_arn, vc_id, bus)]

    return guard("eventbridge rule", fix, run)


def _chime_rules(events: EventBridgeClient, bus: str) -> list[str]:
    pages = events.get_paginator("list_rules").paginate(EventBusName=bus)
    rules = [r for page in pages for r in page.get("Rules", [])]
    return [
        r.get("Name", "")
        for r in rules
        if DETAIL_TYPE in _pattern(r.get("EventPattern", "")).get("detail-type", [])
    ]


def _pattern(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _one_rule(
    events: EventBridgeClient, name: str, function_arn: str, vc_id: str, bus: str
) -> list[Finding]:
    check = f"eventbridge rule {name}"
    rule = events.describe_rule(Name=name, EventBusName=bus)
    pattern = _pattern(rule.get("EventPattern", ""))
    vcs = pattern.get("detail", {}).get("voiceConnectorId")
    problem, fix = "", ""
    if "aws.chime" not in pattern.get("source", []) or DETAIL_TYPE not in pattern.get(
        "detail-type", []
    ):
        problem = "pattern does not match Streaming Status events"
        fix = f'the pattern needs source ["aws.chime"] and detail-type ["{DETAIL_TYPE}"]'
    elif rule.get("State") != "ENABLED":
        problem, fix = f"state {rule.get('State')}", f"aws events enable-rule --name {name}"
    elif vc_id and vcs is not None and vc_id not in vcs:
        problem = f"filters other Voice Connectors, not {vc_id}"
        fix = "set the VoiceConnectorId parameter to this Voice Connector and deploy"
    if problem:
        return [Finding(check, "FAIL", problem, fix)]
    targets = events.list_targets_by_rule(Rule=name, EventBusName=bus).get("Targets", [])
    if function_arn:
        hit = [t for t in targets if _same_function(t.get("Arn", ""), function_arn)]
        problem = "does not target the StreamStatus function"
    else:
        hit = [t for t in targets if ":lambda:" in t.get("Arn", "")]
        problem = "has no Lambda target"
    if not hit:
        return [Finding(check, "FAIL", problem, "make StreamStatusFunction its target (deploy)")]
    function = hit[0].get("Arn", "").split(":function:")[-1].split(":")[0]
    out = [Finding(check, "OK", f"enabled, targets {function}")]
    if not hit[0].get("DeadLetterConfig", {}).get("Arn"):
        fix = "give the target a dead-letter queue so undeliverable events are kept"
        out.append(Finding(f"{check} DLQ", "WARN", "target has no dead-letter queue", fix))
    return out


def _same_function(target_arn: str, function_arn: str) -> bool:
    """Compare Lambda ARNs ignoring a version/alias qualifier."""
    return target_arn.split(":")[:7] == function_arn.split(":")[:7]
