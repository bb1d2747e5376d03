"""events/*.json: the samples `sam local invoke -e` feeds each function."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.conftest import CHIME_EVENTS, REPO_ROOT
from tests.infra.tpl import props

EVENTS = REPO_ROOT / "events"
RFC7865 = "urn:ietf:params:xml:ns:recording:1"
STATUS_FILES = {
    "stream-status-started.json": "STARTED",
    "stream-status-updated.json": "UPDATED",
    "stream-status-ended.json": "ENDED",
    "stream-status-failed.json": "FAILED",
}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


def test_every_expected_sample_exists_and_nothing_else() -> None:
    names = {p.name for p in EVENTS.glob("*")}
    assert names == set(STATUS_FILES) | {"recorder-sqs-job.json", "sweeper-schedule.json"}


@pytest.mark.parametrize(("name", "status"), sorted(STATUS_FILES.items()))
def test_status_samples_match_the_rule_and_carry_their_status(name: str, status: str) -> None:
    event = _load(name)
    pattern = props("StreamingStatusRule")["EventPattern"]
    assert [event["source"]] == pattern["source"]
    assert [event["detail-type"]] == pattern["detail-type"]
    assert event["detail"]["streamingStatus"] == status
    for key in ("version", "id", "account", "time", "region", "resources"):
        assert key in event, key
    detail = event["detail"]
    assert detail["transactionId"] == _load("stream-status-started.json")["detail"]["transactionId"]
    for number in (detail.get("fromNumber"), detail.get("toNumber")):
        assert number is None or number.startswith("+1555"), "phone numbers must be fake"


@pytest.mark.parametrize(
    ("ours", "real"),
    [
        ("stream-status-started.json", "pstn-streaming-started.json"),
        ("stream-status-ended.json", "pstn-streaming-ended.json"),
    ],
)
def test_samples_have_every_field_of_the_real_chime_events(ours: str, real: str) -> None:
    theirs = json.loads((CHIME_EVENTS / real).read_text(encoding="utf-8"))
    mine = _load(ours)
    assert set(theirs) <= set(mine)
    assert set(theirs["detail"]) <= set(mine["detail"])


def _metadata(detail: dict[str, Any]) -> etree._Element:
    root = etree.fromstring(detail["siprecMetadata"].encode("utf-8"))
    assert etree.QName(root).namespace == RFC7865
    return root


def test_started_is_a_siprec_leg_whose_label_is_in_its_metadata() -> None:
    detail = _load("stream-status-started.json")["detail"]
    for key in ("isCaller", "direction", "startFragmentNumber", "streamArn", "callId",
                "voiceConnectorId", "startTime", "inviteHeaders", "sdp"):  # fmt: skip
        assert key in detail, key
    assert detail["mediaType"] == "audio/L16"
    assert detail["inviteHeaders"]["x-inin-cnv"]
    stream_name = detail["streamArn"].split(":stream/")[1].split("/")[0]
    assert stream_name.startswith(f"ChimeVoiceConnector-{detail['voiceConnectorId']}-")
    root = _metadata(detail)
    labels = [e.text for e in root.iter(f"{{{RFC7865}}}label")]
    assert detail["sdp"]["mediaLabel"] in labels
    assert detail["sdp"]["mediaIndex"] == labels.index(detail["sdp"]["mediaLabel"])
    for aor in root.iter(f"{{{RFC7865}}}nameID"):
        user = aor.get("aor", "").split(":", 1)[1].split("@")[0]
        assert not user.startswith("+") or user.startswith("+1555")


def test_updated_carries_update_headers_and_new_metadata_but_no_stream() -> None:
    detail = _load("stream-status-updated.json")["detail"]
    assert "updateHeaders" in detail
    assert _metadata(detail) is not None
    assert "streamArn" not in detail and "startFragmentNumber" not in detail


def test_ended_and_failed_carry_their_times() -> None:
    ended = _load("stream-status-ended.json")["detail"]
    assert ended["endTime"] > ended["startTime"]
    assert int(ended["currentFragmentNumber"]) > int(ended["startFragmentNumber"])
    failed = _load("stream-status-failed.json")["detail"]
    assert failed["failTime"] and failed["failureReason"]


def test_recorder_job_is_an_sqs_batch_of_one_for_the_sample_call() -> None:
    (record,) = _load("recorder-sqs-job.json")["Records"]
    assert record["eventSource"] == "aws:sqs"
    body = json.loads(record["body"])
    assert body == {
        "transaction_id": _load("stream-status-started.json")["detail"]["transactionId"],
        "attempt": 1,
    }
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_sweeper_sample_is_a_scheduled_event() -> None:
    event = _load("sweeper-schedule.json")
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    assert event["detail"] == {}
    assert event["resources"][0].startswith("arn:aws:events:")


def test_every_sample_is_json_an_object_and_lf_terminated() -> None:
    for path in sorted(Path(EVENTS).glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert isinstance(json.loads(text), dict), path.name
        assert text.endswith("\n"), path.name


@pytest.mark.parametrize(("name", "status"), sorted(STATUS_FILES.items()))
def test_the_stream_status_handler_accepts_each_sample(name: str, status: str) -> None:
    """The samples are what `sam local invoke` feeds StreamStatus: its parser must take them."""
    from siprec_recorder.calls.events import parse_events

    (event,) = parse_events(_load(name))
    dumped = event.model_dump()
    detail = dumped.get("detail", dumped)
    assert detail["streaming_status"] == status
    assert detail["transaction_id"] == _load(name)["detail"]["transactionId"]


def test_the_metadata_parser_reads_the_started_sample_cleanly() -> None:
    from siprec_recorder.metadata.parse import parse_metadata

    event = _load("stream-status-started.json")
    meta = parse_metadata(json.dumps(event), headers=event["detail"]["inviteHeaders"])
    assert meta.format == "rfc7865" and meta.warnings == ()
    assert sorted(s.label for s in meta.streams) == ["1", "2"]
    assert meta.headers["x-inin-cnv"] == event["detail"]["inviteHeaders"]["x-inin-cnv"]


def _rule_pattern(voice_connector_id: str) -> dict[str, Any]:
    """The template's EventPattern with its condition resolved for a VoiceConnectorId value."""
    pattern = dict(props("StreamingStatusRule")["EventPattern"])
    cond, with_filter, _without = pattern.pop("detail")["Fn::If"]
    assert cond == "HasVoiceConnectorFilter"
    if voice_connector_id:
        pattern["detail"] = {"voiceConnectorId": [voice_connector_id]}
        assert with_filter == {"voiceConnectorId": [{"Ref": "VoiceConnectorId"}]}
    return pattern


@pytest.mark.parametrize("name", sorted(STATUS_FILES))
def test_eventbridge_matching_selects_the_connector(name: str) -> None:
    """EventBridge's matching (moto's implementation) on the deployed pattern."""
    from moto.events.models import EventPattern

    event = _load(name)
    vc = event["detail"]["voiceConnectorId"]
    for pattern_vc, expected in (("", True), (vc, True), ("someotherconnector", False)):
        pattern = EventPattern.load(json.dumps(_rule_pattern(pattern_vc)))
        assert pattern.matches_event(event) is expected, pattern_vc
    real = json.loads((CHIME_EVENTS / "pstn-streaming-started.json").read_text(encoding="utf-8"))
    assert EventPattern.load(json.dumps(_rule_pattern(""))).matches_event(real)
    schedule = _load("sweeper-schedule.json")
    assert not EventPattern.load(json.dumps(_rule_pattern(""))).matches_event(schedule)
