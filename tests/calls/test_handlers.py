"""Both handlers called as Lambda calls them: loaded by file path, with a context object."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from siprec_recorder.aws.calls_table import CallsTable
from siprec_recorder.calls.events import parse_event
from siprec_recorder.calls.model import CallStatus
from siprec_recorder.errors import EventError
from tests.calls.conftest import Aws
from tests.calls.helpers import (
    ARN_A,
    ARN_B,
    CALLER_NAME,
    FROM_NUMBER,
    TO_NUMBER,
    TXN,
    Context,
    corpus_xml,
    event,
    load_function,
    sample,
)

PERSONAL = (FROM_NUMBER, TO_NUMBER, FROM_NUMBER.lstrip("+"), TO_NUMBER.lstrip("+"), CALLER_NAME)


def siprec_call() -> list[dict[str, object]]:
    xml = corpus_xml("cisco_1")
    return [
        event("STARTED", arn=ARN_A, xml=xml, label="1", index=0, event_id="s-a"),
        event("STARTED", arn=ARN_B, xml=xml, label="2", index=1, event_id="s-b"),
        event("ENDED", arn=ARN_A, event_id="e-a"),
        event("ENDED", arn=ARN_B, event_id="e-b"),
    ]


def test_stream_status_queues_one_job_per_call(aws: Aws) -> None:
    app = load_function("stream_status")
    results = [app.lambda_handler(ev, Context()) for ev in siprec_call()]
    assert all(r["ok"] for r in results)
    assert [r["results"][0]["call_status"] for r in results] == [
        "ACTIVE",
        "ACTIVE",
        "ENDED",
        "QUEUED",
    ]
    assert [json.loads(m) for m in aws.messages()] == [{"transaction_id": TXN, "attempt": 1}]
    again = app.lambda_handler(siprec_call()[3], Context())  # EventBridge redelivery
    assert again["results"][0]["duplicate"] is True
    assert aws.messages() == []


def test_stream_status_accepts_the_sqs_wrapped_form(aws: Aws) -> None:
    app = load_function("stream_status")
    out = app.lambda_handler(sample("sqs-wrapped-streaming-started-2019.json"), Context())
    assert out["results"][0]["transaction_id"] == "24f48be4-2036-41d5-a6f8-f25e486b76c6"
    table = CallsTable(aws.table_name, endpoint_url=aws.url, region="us-east-1")
    call = table.get("24f48be4-2036-41d5-a6f8-f25e486b76c6")
    assert call is not None and call.direction == "Outbound"


def test_logs_and_metrics_carry_no_phone_numbers_or_names(
    aws: Aws,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")  # an operator's switch: ignored
    caplog.set_level(logging.DEBUG)
    app = load_function("stream_status")
    buf = io.StringIO()
    mine = logging.StreamHandler(buf)  # formatted exactly as Lambda would print, as it happens
    mine.setFormatter(app.logger.registered_formatter)
    logging.getLogger(app.logger.name).addHandler(mine)
    for ev in [sample("pstn-streaming-started.json"), *siprec_call()]:
        app.lambda_handler(ev, Context())
    bad = sample("pstn-streaming-ended.json")
    bad["detail"]["streamArn"] = "not-an-arn " + FROM_NUMBER
    with pytest.raises(EventError):
        app.lambda_handler(bad, Context())
    logging.getLogger(app.logger.name).removeHandler(mine)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    applied = [x for x in lines if x.get("message") == "streaming status applied"]
    assert len(applied) == 5
    assert {x["correlation_id"] for x in applied} == {TXN}
    assert any(x.get("message") == "streaming status event refused" for x in lines)
    stdout = capsys.readouterr().out
    assert '"_aws"' in stdout  # the EMF metrics lines were printed
    everything = (
        stdout
        + buf.getvalue()
        + "\n".join(json.dumps(vars(r), default=str) for r in caplog.records)
    )
    for value in PERSONAL:
        assert value not in everything


def test_sweeper_resends_a_stuck_job(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    table = CallsTable(
        aws.table_name, endpoint_url=aws.url, region="us-east-1", clock=past.timestamp
    )
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    table.apply_event(parse_event(event("ENDED", arn=ARN_A)))  # QUEUED two hours ago
    app = load_function("sweeper")
    out = app.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())
    assert out["ok"] and out["retried"] == [TXN]
    # a job nobody took is sent again as a new attempt that uses up no retry
    assert [json.loads(m) for m in aws.messages()] == [{"transaction_id": TXN, "attempt": 2}]
    call = table.get(TXN)
    assert call is not None and (call.attempt, call.resends) == (2, 1)


def test_a_leg_that_arrives_after_the_recording_is_flagged(aws: Aws) -> None:
    app = load_function("stream_status")
    table = CallsTable(aws.table_name, endpoint_url=aws.url, region="us-east-1")
    app.lambda_handler(event("STARTED", arn=ARN_A), Context())
    app.lambda_handler(event("ENDED", arn=ARN_A), Context())
    assert table.claim(TXN, 1) is not None
    planned = frozenset({ARN_A})
    table.finish_recording(TXN, CallStatus.RECORDED_ONE_WAY, "m.json", "missing_stream", planned)
    out = app.lambda_handler(event("STARTED", arn=ARN_B), Context())
    assert out["results"][0]["late_stream"] is True
    assert out["results"][0]["call_status"] == "RECORDED_ONE_WAY"
    call = table.get(TXN)
    assert call is not None and call.stream(ARN_B) is not None
