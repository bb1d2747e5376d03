"""The Chime streaming status models against the published samples and hostile input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from siprec_recorder.calls.events import parse_event, parse_events
from siprec_recorder.errors import EventError
from tests.calls.helpers import ARN_A, FROM_NUMBER, TO_NUMBER, corpus_xml, event, sample


def test_published_started_sample_parses_with_its_values() -> None:
    ev = parse_event(sample("pstn-streaming-started.json"))
    d = ev.detail
    assert ev.id == "ac48f3fe-0b49-7b20-56af-bcefec745020"
    assert ev.status == "STARTED"
    assert ev.transaction_id == "ec97a8ff-3f83-4de2-8d73-d988070f6af4"
    assert d.is_caller is False
    assert d.media_type == "audio/L16"
    assert d.start_fragment_number == "91343852333181437344442219794598596340754947404"
    assert d.start_time == datetime(2023, 4, 5, 22, 14, 2, 238000, tzinfo=UTC)
    assert d.stream_arn is not None and d.stream_arn.endswith("/1680731924044")


def test_published_ended_sample_has_end_fields_and_no_media_type() -> None:
    d = parse_event(sample("pstn-streaming-ended.json")).detail
    assert d.streaming_status == "ENDED"
    assert d.current_fragment_number == "91343852333181432457054944695917274706600548493"
    assert d.end_time == datetime(2023, 4, 5, 22, 14, 17, 788000, tzinfo=UTC)
    assert d.media_type is None
    assert d.is_caller is True


def test_sqs_wrapped_2019_sample_unwraps_without_is_caller() -> None:
    events = parse_events(sample("sqs-wrapped-streaming-started-2019.json"))
    assert len(events) == 1
    d = events[0].detail
    assert d.transaction_id == "24f48be4-2036-41d5-a6f8-f25e486b76c6"
    assert d.direction == "Outbound"
    assert d.is_caller is None
    assert events[0].id == "bc2c1ea5-19dd-d03b-4149-7b6c70077ccb"


def test_phone_numbers_are_not_kept_by_the_model() -> None:
    ev = parse_event(sample("pstn-streaming-started.json"))
    dumped = json.dumps(ev.model_dump(mode="json"))
    assert FROM_NUMBER not in dumped and TO_NUMBER not in dumped


def test_updated_without_stream_and_failed_with_reason() -> None:
    up = parse_event(event("UPDATED", xml=corpus_xml("cisco_1"), updateHeaders={"X-A": "1"}))
    assert up.detail.stream_arn is None and up.detail.update_headers == {"X-A": "1"}
    assert up.detail.siprec_metadata is not None and "<label>2</label>" in up.detail.siprec_metadata
    failed = parse_event(event("FAILED", arn=ARN_A))
    assert failed.detail.failure_reason == "Internal Error"
    assert failed.detail.fail_time == datetime(2023, 4, 5, 22, 14, 10, tzinfo=UTC)


def test_sdp_media_label_and_index() -> None:
    d = parse_event(event("STARTED", arn=ARN_A, label="1", index=0)).detail
    assert d.sdp is not None and d.sdp.media_label == "1" and d.sdp.media_index == 0


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"transactionId": "../../etc/passwd"}, "detail.transactionId"),
        ({"streamArn": "arn:aws:s3:::bucket/key"}, "detail.streamArn"),
        ({"startFragmentNumber": "12ab"}, "detail.startFragmentNumber"),
        ({"streamingStatus": "PAUSED"}, "detail.streamingStatus"),
        ({"siprecMetadata": "<a>" + "x" * (1 << 20) + "</a>"}, "detail.siprecMetadata"),
        ({"inviteHeaders": {f"X-{i}": "v" for i in range(300)}}, "detail.inviteHeaders"),
        ({"inviteHeaders": {"X-Big": "v" * 20000}}, "detail.inviteHeaders"),
        # valid ISO-8601 whose UTC form is outside years 1-9999 (was an OverflowError)
        ({"startTime": "0001-01-01T00:00:00+14:00"}, "detail.startTime"),
        ({"endTime": "9999-12-31T23:59:59-23:59"}, "detail.endTime"),
        # a header *name* is input too: never shown (it was, newline and 5000 characters)
        ({"inviteHeaders": {"X-Evil\nInjected: yes" + "A" * 5000: 1}}, "detail.inviteHeaders"),
    ],
)
def test_hostile_detail_is_refused_with_a_short_message(
    change: dict[str, object], where: str
) -> None:
    raw = event("STARTED", arn=ARN_A)
    raw["detail"].update(change)
    with pytest.raises(EventError) as info:
        parse_event(raw)
    message = str(info.value)
    assert where in message
    assert len(message) < 200 and "\n" not in message
    assert FROM_NUMBER not in message and "Injected" not in message


def test_an_event_time_out_of_range_in_utc_is_refused() -> None:
    raw = event("STARTED", arn=ARN_A)
    raw["time"] = "9999-12-31T23:59:59-23:59"
    with pytest.raises(EventError, match=r"first: time \(value_error\)"):
        parse_event(raw)


def test_wrong_detail_type_and_non_objects_are_refused() -> None:
    raw = sample("pstn-streaming-started.json")
    raw["detail-type"] = "Chime VoiceConnector Streaming Statuz"
    with pytest.raises(EventError, match="detail-type"):
        parse_event(raw)
    with pytest.raises(EventError, match="must be an object"):
        parse_events(["not", "an", "event"])


def test_sqs_records_with_bad_bodies_are_refused() -> None:
    with pytest.raises(EventError, match="not JSON"):
        parse_events({"Records": [{"body": "{nope"}]})
    with pytest.raises(EventError, match="no string body"):
        parse_events({"Records": [{"body": 3}]})
    with pytest.raises(EventError, match="records"):
        parse_events({"Records": [{"body": "{}"}] * 101})
