"""The sweeper against the moto table and queue, with a fake KVS ListFragments probe."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from siprec_recorder.aws.calls_table import CallsTable
from siprec_recorder.aws.kvs import Fragment
from siprec_recorder.aws.queue import RecordingQueue
from siprec_recorder.calls.events import parse_event
from siprec_recorder.calls.model import CallStatus
from siprec_recorder.calls.sweep import SweepPolicy, run_sweep
from tests.calls.conftest import Aws
from tests.calls.helpers import ARN_A, ARN_B, TXN, corpus_xml, event

T0 = datetime(2023, 4, 5, 22, 15, tzinfo=UTC)  # just after the sample ENDED (22:14:17.788Z)
POLICY = SweepPolicy(ended_timeout_minutes=240, stream_grace_minutes=5, stuck_minutes=30)


class Probe:
    """ListFragments stand-in: one fragment per stream at a given server time."""

    def __init__(self, last: dict[str, datetime]) -> None:
        self.last = last
        self.asked: list[tuple[str, int, int]] = []

    def list_fragments(self, stream_arn: str, start_ms: int, end_ms: int) -> list[Fragment]:
        self.asked.append((stream_arn, start_ms, end_ms))
        when = self.last.get(stream_arn)
        if when is None:
            return []
        ms = int(when.timestamp() * 1000)
        if not start_ms - 5000 <= ms <= end_ms + 5000:
            return []
        return [Fragment(number="1", producer_ms=ms, server_ms=ms, duration_ms=2000, size=32000)]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


def setup(aws: Aws, at: datetime = T0) -> tuple[CallsTable, RecordingQueue, Clock]:
    """The table writes with `clock` (events at T0); set clock.at = now before sweeping."""
    clock = Clock(at)
    table = CallsTable(aws.table_name, endpoint_url=aws.url, region="us-east-1", clock=clock)
    queue = RecordingQueue(aws.queue_url, endpoint_url=aws.url, region="us-east-1")
    return table, queue, clock


def jobs(aws: Aws) -> list[dict[str, Any]]:
    return [json.loads(b) for b in aws.messages()]


def test_call_without_ended_is_finalised_when_kvs_went_quiet(aws: Aws) -> None:
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    now = T0 + timedelta(minutes=241)
    probe = Probe({ARN_A: now - timedelta(minutes=9)})
    clock.at = now
    report = run_sweep(table, queue, probe, POLICY, now)
    assert report.ended_by_probe == [TXN]
    assert jobs(aws) == [{"transaction_id": TXN, "attempt": 1}]
    call = table.get(TXN)
    assert call is not None and call.status == CallStatus.QUEUED
    assert call.reason == "ended_event_missing"
    stream = call.stream(ARN_A)
    assert stream is not None and stream.status == "ENDED" and stream.end_time is None
    assert (
        probe.asked
        and probe.asked[0][0] == ARN_A
        and probe.asked[0][2] == int(now.timestamp() * 1000)
    )


def test_call_still_streaming_is_left_alone(aws: Aws) -> None:
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    now = T0 + timedelta(minutes=300)
    clock.at = now
    report = run_sweep(table, queue, Probe({ARN_A: now - timedelta(seconds=3)}), POLICY, now)
    assert report.still_streaming == [TXN] and report.ended_by_probe == []
    assert jobs(aws) == []
    call = table.get(TXN)
    assert call is not None and call.status == CallStatus.ACTIVE


def test_recent_call_is_not_probed(aws: Aws) -> None:
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    probe = Probe({})
    clock.at = T0 + timedelta(minutes=100)
    run_sweep(table, queue, probe, POLICY, clock.at)
    assert probe.asked == [] and jobs(aws) == []


def test_missing_leg_is_enqueued_after_the_grace_period(aws: Aws) -> None:
    table, queue, clock = setup(aws)
    xml = corpus_xml("cisco_1")  # expects labels 1 and 2; only leg 1 ever streams
    table.apply_event(parse_event(event("STARTED", arn=ARN_A, xml=xml, label="1")))
    table.apply_event(parse_event(event("ENDED", arn=ARN_A, label="1")))
    clock.at = T0 + timedelta(minutes=2)
    early = run_sweep(table, queue, Probe({}), POLICY, clock.at)
    assert early.missing_stream == [] and jobs(aws) == []
    clock.at = T0 + timedelta(minutes=6)
    late = run_sweep(table, queue, Probe({}), POLICY, clock.at)
    assert late.missing_stream == [TXN]
    assert jobs(aws) == [{"transaction_id": TXN, "attempt": 1}]
    call = table.get(TXN)
    assert call is not None and call.status == CallStatus.QUEUED
    assert call.reason == "missing_stream"


def test_stuck_job_is_resent_then_failed(aws: Aws) -> None:
    """A job the Recorder took and never settled (a crash) gets a new attempt, up to the cap."""
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    table.apply_event(parse_event(event("ENDED", arn=ARN_A)))
    assert table.claim(TXN, 1) is not None
    policy = SweepPolicy(stuck_minutes=30, max_attempts=2)
    now = T0 + timedelta(minutes=31)
    clock.at = now
    first = run_sweep(table, queue, Probe({}), policy, now)
    assert first.retried == [TXN]
    assert jobs(aws) == [{"transaction_id": TXN, "attempt": 2}]
    assert table.claim(TXN, 2) is not None  # taken, and lost again
    now += timedelta(minutes=31)
    clock.at = now
    second = run_sweep(table, queue, Probe({}), policy, now)
    assert second.failed == [TXN] and jobs(aws) == []
    call = table.get(TXN)
    assert call is not None and call.status == CallStatus.FAILED
    assert call.reason == "recorder_never_finished"


def test_call_with_only_an_update_fails_without_streams(aws: Aws) -> None:
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("UPDATED", xml=corpus_xml("cisco_1"))))
    now = T0 + timedelta(minutes=241)
    clock.at = now
    report = run_sweep(table, queue, Probe({}), POLICY, now)
    call = table.get(TXN)
    assert call is not None and call.status == CallStatus.FAILED and call.reason == "no_streams"
    assert report.failed == [TXN]  # the handler turns this into the FailedCalls metric
    assert jobs(aws) == []


def test_two_legs_one_quiet_one_live_waits(aws: Aws) -> None:
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    table.apply_event(parse_event(event("STARTED", arn=ARN_B)))
    now = T0 + timedelta(minutes=250)
    probe = Probe({ARN_A: now - timedelta(minutes=20), ARN_B: now - timedelta(seconds=2)})
    clock.at = now
    report = run_sweep(table, queue, probe, POLICY, now)
    assert report.ended_by_probe == [] and jobs(aws) == []


def test_lone_side_without_metadata_is_enqueued_after_the_grace_period(aws: Aws) -> None:
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A, isCaller=True)))
    table.apply_event(parse_event(event("ENDED", arn=ARN_A, isCaller=True)))
    clock.at = T0 + timedelta(minutes=6)
    report = run_sweep(table, queue, Probe({}), POLICY, clock.at)
    assert report.missing_stream == [TXN]
    assert jobs(aws) == [{"transaction_id": TXN, "attempt": 1}]


def template_queue() -> tuple[float, int]:
    """The recording queue's visibility timeout (minutes) and maxReceiveCount default."""
    import re

    from tests.conftest import REPO_ROOT

    template = (REPO_ROOT / "template.yaml").read_text()
    visibility = re.search(r"^\s+VisibilityTimeout: (\d+)$", template, re.MULTILINE)
    receives = re.search(
        r"^  RecordingMaxReceiveCount:\n(?:\s+\w+: .*\n)*?\s+Default: (\d+)$",
        template,
        re.MULTILINE,
    )
    assert visibility is not None and receives is not None
    return int(visibility.group(1)) / 60, int(receives.group(1))


def test_default_policy_leaves_every_sqs_redelivery_to_its_job(aws: Aws) -> None:
    """A job that raises (S3 refused) comes back after each visibility timeout with a higher
    receive count, and its last receive marks the call FAILED with the cause and lands in the
    DLQ. Every receive must find its attempt current: a sweeper resend in between would make
    the last receive stale, and the call would fail only as `recorder_never_finished`, with
    the cause lost and nothing in the DLQ."""
    visibility_minutes, max_receives = template_queue()
    assert max_receives >= 2
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    table.apply_event(parse_event(event("ENDED", arn=ARN_A)))
    for receive in range(1, max_receives + 1):
        clock.at = T0 + timedelta(minutes=(receive - 1) * visibility_minutes)
        taken = table.claim(TXN, 1, reclaim=receive > 1)
        assert taken is not None, f"receive {receive} found its attempt superseded"
        # the Recorder raised; just before the next redelivery, the sweeper looks
        now = T0 + timedelta(minutes=receive * visibility_minutes - 1)
        clock.at = now
        report = run_sweep(table, queue, Probe({}), SweepPolicy(), now)
        assert report.retried == [] and report.failed == [], f"after receive {receive}"
    assert jobs(aws) == []
    call = table.get(TXN)
    assert call is not None and call.status == CallStatus.RECORDING and call.attempt == 1


def test_default_policy_resends_a_job_nobody_took_after_half_an_hour(aws: Aws) -> None:
    """QUEUED means no Recorder claimed the job (a send that failed, or a backlog): no SQS
    redelivery will come, so the sweeper must not wait for the visibility timeout as it does
    for RECORDING. It sends a new attempt: if the first message was only waiting, it is
    stale when it comes, so never two Recorders take the call."""
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    table.apply_event(parse_event(event("ENDED", arn=ARN_A)))
    assert table.get(TXN).status == CallStatus.QUEUED  # type: ignore[union-attr]
    now = T0 + timedelta(minutes=31)
    clock.at = now
    report = run_sweep(table, queue, Probe({}), SweepPolicy(), now)
    assert report.retried == [TXN]
    assert jobs(aws) == [{"transaction_id": TXN, "attempt": 2}]
    assert table.claim(TXN, 1) is None  # the old message, first received now: stale
    assert table.claim(TXN, 1, reclaim=True) is None  # even as a redelivery
    assert table.claim(TXN, 2) is not None


def test_a_backlog_never_fails_a_call_that_no_recorder_tried(aws: Aws) -> None:
    """Hours in the queue (a Recorder outage, a throttled event source mapping, a backlog) are
    not failed attempts: the call stays QUEUED, resent every half hour at most (each resend a
    new attempt, the older copies stale), and is recorded when the Recorder gets to it."""
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    table.apply_event(parse_event(event("ENDED", arn=ARN_A)))
    resent = 0
    for minutes in range(5, 6 * 60, 5):  # a sweep every 5 minutes for six hours
        now = T0 + timedelta(minutes=minutes)
        clock.at = now
        report = run_sweep(table, queue, Probe({}), SweepPolicy(), now)
        assert report.failed == []
        resent += len(report.retried)
    call = table.get(TXN)
    assert call is not None and call.status == CallStatus.QUEUED
    assert resent == call.resends and 6 <= resent <= 12  # every 30-35 minutes, not every sweep
    assert call.attempt == 1 + resent
    assert sorted(j["attempt"] for j in jobs(aws)) == list(range(2, 2 + resent))
    assert table.claim(TXN, call.attempt) is not None


def test_the_newest_fragment_decides_whether_a_stream_is_live() -> None:
    """KVS lists fragments in no promised order: one from 20 minutes ago and one from 2
    seconds ago mean the stream is live."""
    from siprec_recorder.calls.sweep import last_fragment_ms

    class Several:
        def list_fragments(self, stream_arn: str, start_ms: int, end_ms: int) -> list[Fragment]:
            return [
                Fragment(number=str(i), producer_ms=ms, server_ms=ms, duration_ms=2000, size=1)
                for i, ms in enumerate((9_000_000, 10_198_000, 9_500_000))
            ]

    assert last_fragment_ms(Several(), ARN_A, 0, 10_200_000) == 10_198_000


def test_a_call_ended_on_one_leg_is_finalised_when_the_other_went_quiet(aws: Aws) -> None:
    """Leg A sent ENDED, leg B's ENDED never came (the call is ENDED, not ACTIVE): the sweeper
    probes B too, and queues the call once KVS shows B silent."""
    table, queue, clock = setup(aws)
    table.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    table.apply_event(parse_event(event("STARTED", arn=ARN_B)))
    table.apply_event(parse_event(event("ENDED", arn=ARN_A)))
    before = table.get(TXN)
    assert before is not None and before.status == CallStatus.ENDED
    now = T0 + timedelta(minutes=241)
    clock.at = now
    report = run_sweep(table, queue, Probe({ARN_B: now - timedelta(minutes=9)}), POLICY, now)
    assert report.ended_by_probe == [TXN]
    assert jobs(aws) == [{"transaction_id": TXN, "attempt": 1}]
