"""Pure call transitions: idempotence, order independence, readiness, terminal states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siprec_recorder.calls import lifecycle as lc
from siprec_recorder.calls.events import StreamingStatusEvent, parse_event
from siprec_recorder.calls.model import Call, CallStatus
from siprec_recorder.errors import EventError
from tests.calls.helpers import ARN_A, ARN_B, corpus_xml, event

# cisco_1 by hand: stream label 1 is sent by participant 7301, label 2 by participant 7300.
CISCO = corpus_xml("cisco_1")


def siprec_call_events(ended_has_sdp: bool) -> list[StreamingStatusEvent]:
    """A 2-leg SIPREC call: STARTED x2 (with metadata), one UPDATED, ENDED x2."""
    sdp_a: dict[str, Any] = {"label": "1", "index": 0, "isCaller": True}
    sdp_b: dict[str, Any] = {"label": "2", "index": 1, "isCaller": False}
    return [
        parse_event(event("STARTED", arn=ARN_A, xml=CISCO, event_id="s-a", **sdp_a)),
        parse_event(event("STARTED", arn=ARN_B, xml=CISCO, event_id="s-b", **sdp_b)),
        parse_event(
            event(
                "UPDATED",
                xml=CISCO.replace("7300</name>", "7300 (held)</name>"),
                updateHeaders={"X-Genesys-CallUUID": "abc"},
                time="2023-04-05T22:14:09Z",
                event_id="u-1",
            )
        ),
        parse_event(
            event(
                "ENDED",
                arn=ARN_A,
                event_id="e-a",
                time="2023-04-05T22:14:17Z",
                **(sdp_a if ended_has_sdp else {}),
            )
        ),
        parse_event(
            event(
                "ENDED",
                arn=ARN_B,
                event_id="e-b",
                time="2023-04-05T22:14:18Z",
                **(sdp_b if ended_has_sdp else {}),
            )
        ),
    ]


def run(events: Sequence[StreamingStatusEvent]) -> tuple[Call, list[int]]:
    """Apply in order; return the final call and the indexes that produced an enqueue."""
    call: Call | None = None
    enqueued_at: list[int] = []
    for i, ev in enumerate(events):
        call, effects = lc.apply_event(call, ev)
        if effects:
            assert [e.transaction_id for e in effects] == [ev.transaction_id]
            enqueued_at.append(i)
    assert call is not None
    return call, enqueued_at


REFERENCE = {flag: run(siprec_call_events(flag))[0].to_dict() for flag in (True, False)}


@settings(max_examples=60, deadline=None)
@given(
    ended_has_sdp=st.booleans(),
    order=st.permutations(range(5)),
    dups=st.lists(st.integers(0, 4), max_size=3),
)
def test_every_order_gives_one_enqueue_after_both_ended_and_the_same_state(
    ended_has_sdp: bool, order: list[int], dups: list[int]
) -> None:
    base = siprec_call_events(ended_has_sdp)
    seq = [base[i] for i in order] + [base[i] for i in dups]  # redeliveries at the end
    call, enqueued_at = run(seq)
    assert len(enqueued_at) == 1
    before = {ev.id for ev in seq[: enqueued_at[0] + 1]}
    assert {"e-a", "e-b"} <= before  # never a recording before both legs ended
    assert call.status == CallStatus.QUEUED and call.attempt == 1
    assert call.to_dict() == REFERENCE[ended_has_sdp]


def pstn_call_events() -> list[StreamingStatusEvent]:
    """A 2-leg call without SIPREC metadata: Chime marks the caller's stream isCaller=true."""
    return [
        parse_event(event("STARTED", arn=ARN_A, event_id="s-a", isCaller=True)),
        parse_event(event("STARTED", arn=ARN_B, event_id="s-b", isCaller=False)),
        parse_event(event("ENDED", arn=ARN_A, event_id="e-a")),
        parse_event(event("ENDED", arn=ARN_B, event_id="e-b")),
    ]


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(range(4)))
def test_without_metadata_every_order_waits_for_both_sides(order: list[int]) -> None:
    base = pstn_call_events()
    seq = [base[i] for i in order]
    call, enqueued_at = run(seq)
    assert enqueued_at == [3]  # only the last event completes the call
    assert call.status == CallStatus.QUEUED


def test_without_metadata_a_lone_side_waits_for_the_sweeper() -> None:
    base = pstn_call_events()
    call, enq = run([base[0], base[2]])
    assert enq == [] and call.status == CallStatus.ENDED


def test_reference_state_merges_everything() -> None:
    call, _ = run(siprec_call_events(False))
    a, b = call.stream(ARN_A), call.stream(ARN_B)
    assert a is not None and b is not None
    assert (a.status, a.media_label, a.media_index, a.is_caller) == ("ENDED", "1", 0, True)
    assert (b.status, b.media_label, b.is_caller) == ("ENDED", "2", False)
    assert a.end_time == "2023-04-05T22:14:17.788Z"
    assert a.current_fragment_number == "91343852333181432457054944695917274706600548493"
    assert a.start_time == "2023-04-05T22:14:02.238Z"
    assert lc.expected_labels(call) == {"1", "2"}
    assert len(call.metadata) == 2  # identical STARTED bodies kept once, plus the update
    assert call.metadata[0].source == "STARTED" and call.metadata[1].source == "UPDATED"
    assert call.update_headers == {"X-Genesys-CallUUID": "abc"}
    assert call.invite_headers["Call-ID"] == "e9fffff2020a598b86962867715db0cf"
    assert call.event_ids == {"s-a", "s-b", "u-1", "e-a", "e-b"}
    assert call.first_ended_time == "2023-04-05T22:14:17.788Z"


def test_duplicate_event_changes_nothing() -> None:
    ev = siprec_call_events(True)[0]
    call, _ = lc.apply_event(None, ev)
    again, effects = lc.apply_event(call, ev)
    assert again is call and effects == []


def test_call_waits_for_an_expected_leg_that_never_started() -> None:
    events = siprec_call_events(True)
    call, enq = run([events[0], events[3]])  # leg A only
    assert enq == [] and call.status == CallStatus.ENDED
    assert lc.missing_labels(call) == {"2"}


def test_four_stream_metadata_expects_four_labels() -> None:
    # oracle_4 by hand: labels 1006644281..84, two participants sending two streams each
    xml = corpus_xml("oracle_4")
    call, _ = lc.apply_event(
        None, parse_event(event("STARTED", arn=ARN_A, xml=xml, label="1006644281"))
    )
    assert lc.expected_labels(call) == {"1006644281", "1006644282", "1006644283", "1006644284"}


def test_unparseable_metadata_falls_back_to_started_streams() -> None:
    bad = corpus_xml("broadworks_1")  # mangled: no usable XML
    s = parse_event(event("STARTED", arn=ARN_A, xml=bad))
    call, _ = lc.apply_event(None, s)
    assert call.metadata[0].labels is None and call.metadata[0].error == "metadata_error"
    call, effects = lc.apply_event(call, parse_event(event("ENDED", arn=ARN_A)))
    assert len(effects) == 1 and call.status == CallStatus.QUEUED


def test_without_metadata_ended_before_started_does_not_enqueue() -> None:
    call, effects = lc.apply_event(None, parse_event(event("ENDED", arn=ARN_A)))
    assert effects == [] and call.status == CallStatus.ENDED
    call, effects = lc.apply_event(call, parse_event(event("STARTED", arn=ARN_A)))
    assert len(effects) == 1
    s = call.stream(ARN_A)
    assert s is not None and s.status == "ENDED" and s.seen == ("ENDED", "STARTED")


def test_failed_event_fails_the_call_but_keeps_streams_and_is_final() -> None:
    call, _ = lc.apply_event(None, parse_event(event("STARTED", arn=ARN_A)))
    call, effects = lc.apply_event(call, parse_event(event("FAILED", arn=ARN_A)))
    assert effects == [] and call.status == CallStatus.FAILED
    assert call.reason == "stream_failed: Internal Error"
    assert call.stream(ARN_A) is not None
    call, effects = lc.apply_event(call, parse_event(event("ENDED", arn=ARN_A)))
    assert effects == [] and call.status == CallStatus.FAILED


def test_failed_after_queue_is_noted_not_terminal() -> None:
    call, _ = lc.apply_event(None, parse_event(event("STARTED", arn=ARN_A)))
    call, effects = lc.apply_event(call, parse_event(event("ENDED", arn=ARN_A)))
    assert call.status == CallStatus.QUEUED
    call, _ = lc.apply_event(call, parse_event(event("FAILED", arn=ARN_A)))
    assert (
        call.status == CallStatus.QUEUED and call.stream_failure == "stream_failed: Internal Error"
    )


def test_other_transaction_is_refused() -> None:
    call, _ = lc.apply_event(None, parse_event(event("STARTED", arn=ARN_A)))
    with pytest.raises(EventError):
        lc.apply_event(call, parse_event(event("STARTED", arn=ARN_B, txn="other-call")))


def queued_call() -> Call:
    call, _ = lc.apply_event(None, parse_event(event("STARTED", arn=ARN_A)))
    call, _ = lc.apply_event(call, parse_event(event("ENDED", arn=ARN_A)))
    assert call.status == CallStatus.QUEUED and call.attempt == 1
    return call


def test_recorder_claim_checkpoint_requeue_and_record() -> None:
    call = queued_call()
    assert lc.claim_for_recording(call, attempt=2) is None  # not the current job
    claimed = lc.claim_for_recording(call, attempt=1)
    assert claimed is not None and claimed.status == CallStatus.RECORDING
    assert lc.claim_for_recording(claimed, attempt=1) is None  # already taken
    assert lc.claim_for_recording(claimed, attempt=1, reclaim=True) is not None
    saved = lc.save_checkpoint(claimed, {"fragment": "123", "samples": 16000})
    assert saved.checkpoint == {"fragment": "123", "samples": 16000}
    again, effects = lc.requeue(saved)
    assert again.status == CallStatus.QUEUED and [e.attempt for e in effects] == [2]
    assert again.checkpoint == {"fragment": "123", "samples": 16000}
    done = lc.mark_recorded(again, CallStatus.RECORDED_ONE_WAY, "rec/m.json", "missing_stream")
    assert done.terminal and done.manifest_key == "rec/m.json" and done.checkpoint is None
    assert lc.mark_recorded(done, CallStatus.RECORDED_ONE_WAY, "rec/m.json") is done
    with pytest.raises(EventError, match="already RECORDED_ONE_WAY"):
        lc.mark_failed(done, "late failure")
    with pytest.raises(EventError):
        lc.mark_recorded(done, CallStatus.RECORDED, "rec/other.json")


def test_mark_failed_is_terminal_and_refuses_a_later_recording() -> None:
    failed = lc.mark_failed(queued_call(), "kvs_error")
    assert failed.status == CallStatus.FAILED and failed.reason == "kvs_error"
    assert lc.mark_failed(failed, "again") is failed
    with pytest.raises(EventError):
        lc.mark_recorded(failed, CallStatus.RECORDED, "k")
    with pytest.raises(EventError):
        lc.mark_recorded(queued_call(), CallStatus.FAILED, "k")


def test_checkpoint_is_bounded() -> None:
    claimed = lc.claim_for_recording(queued_call(), 1)
    assert claimed is not None
    with pytest.raises(EventError, match="checkpoint"):
        lc.save_checkpoint(claimed, {"blob": "x" * 70000})


def test_retry_stuck_is_bounded_for_jobs_the_recorder_took() -> None:
    call = lc.claim_for_recording(queued_call(), 1)
    assert call is not None
    call, effects = lc.retry_stuck(call, max_attempts=2)
    assert [e.attempt for e in effects] == [2] and call.status == CallStatus.QUEUED
    taken = lc.claim_for_recording(call, 2)
    assert taken is not None
    call, effects = lc.retry_stuck(taken, max_attempts=2)
    assert effects == [] and call.status == CallStatus.FAILED
    assert call.reason == "recorder_never_finished"


def test_a_job_nobody_took_is_resent_as_a_new_attempt_using_up_no_retry() -> None:
    """A new attempt each time, so an older copy still in the queue is stale (never two copies
    of one attempt); none of them counts against max_attempts, but there is a last one."""
    call = queued_call()
    for n in range(1, 6):
        call, effects = lc.retry_stuck(call, max_attempts=2, max_resends=5)
        assert [e.attempt for e in effects] == [1 + n]
        assert (call.status, call.attempt, call.resends) == (CallStatus.QUEUED, 1 + n, n)
    assert lc.claim_for_recording(call, 5) is None  # an older copy: stale
    call, effects = lc.retry_stuck(call, max_attempts=2, max_resends=5)
    assert effects == [] and call.status == CallStatus.FAILED
    assert call.reason == "recorder_never_took_job"


def test_resends_do_not_count_as_failures_once_a_recorder_took_the_job() -> None:
    call = queued_call()
    for _ in range(3):
        call, _ = lc.retry_stuck(call, max_attempts=2)  # attempts 2, 3, 4: nobody took them
    taken = lc.claim_for_recording(call, 4)
    assert taken is not None
    call, effects = lc.retry_stuck(taken, max_attempts=2)
    assert [e.attempt for e in effects] == [5]  # the first failure: retried
    taken = lc.claim_for_recording(call, 5)
    assert taken is not None
    call, effects = lc.retry_stuck(taken, max_attempts=2)
    assert effects == [] and call.reason == "recorder_never_finished"


def test_a_long_calls_continuations_do_not_use_up_its_retries() -> None:
    """Two checkpoint continuations (attempts 2 and 3, one finished stream each), then the job
    is lost twice in the recorder: with 2 retries allowed the sweeper still resends it once
    instead of failing the call."""
    call = queued_call()
    for attempt, label in ((1, "1"), (2, "2")):
        claimed = lc.claim_for_recording(call, attempt)
        assert claimed is not None
        streams = {**((call.checkpoint or {}).get("streams") or {}), label: {"pcm": None}}
        saved = lc.save_checkpoint(claimed, {"version": 1, "streams": streams})
        call, _ = lc.requeue(saved)
    assert call.attempt == 3 and call.status == CallStatus.QUEUED
    taken = lc.claim_for_recording(call, 3)
    assert taken is not None
    call, effects = lc.retry_stuck(taken, max_attempts=2)
    assert [e.attempt for e in effects] == [4] and call.status == CallStatus.QUEUED
    taken = lc.claim_for_recording(call, 4)
    assert taken is not None
    call, effects = lc.retry_stuck(taken, max_attempts=2)
    assert effects == [] and call.status == CallStatus.FAILED  # still bounded


def test_a_stream_that_starts_while_the_recorder_holds_the_call_is_recorded_again() -> None:
    """The recording made without stream B lacks B's audio: it must not become the call's
    final state. The call waits for B like any call, is queued again once B ended, and only a
    recording that planned every stream is final."""
    claimed = lc.claim_for_recording(queued_call(), 1)
    assert claimed is not None
    planned = frozenset({ARN_A})  # what the recorder saw ended when it took the call
    during, effects = lc.apply_event(claimed, parse_event(event("STARTED", arn=ARN_B)))
    assert effects == [] and during.status == CallStatus.RECORDING
    back, effects = lc.finish_recording(during, CallStatus.RECORDED, "m.json", None, planned)
    assert effects == [] and back.status == CallStatus.ENDED  # B is still streaming
    assert back.reason == lc.STARTED_WHILE_RECORDING and not back.terminal
    queued, effects = lc.apply_event(back, parse_event(event("ENDED", arn=ARN_B)))
    assert [e.attempt for e in effects] == [2] and queued.status == CallStatus.QUEUED
    again = lc.claim_for_recording(queued, 2)
    assert again is not None
    done, effects = lc.finish_recording(
        again, CallStatus.RECORDED, "m.json", None, frozenset({ARN_A, ARN_B})
    )
    assert effects == [] and done.status == CallStatus.RECORDED and done.reason is None


def test_a_stream_that_ended_while_recording_is_queued_again_at_once() -> None:
    """B started and ended while the recorder ran without it: the call is ready again."""
    claimed = lc.claim_for_recording(queued_call(), 1)
    assert claimed is not None
    during, _ = lc.apply_event(claimed, parse_event(event("STARTED", arn=ARN_B)))
    during, _ = lc.apply_event(during, parse_event(event("ENDED", arn=ARN_B)))
    back, effects = lc.finish_recording(
        during, CallStatus.RECORDED, "m.json", None, frozenset({ARN_A})
    )
    assert [e.attempt for e in effects] == [2] and back.status == CallStatus.QUEUED


def test_serialisation_round_trip() -> None:
    call, _ = run(siprec_call_events(True))
    assert Call.from_dict(call.to_dict()) == call


# A hand-written RFC 7865 partial update: a third participant joins and sends stream label 3.
PARTIAL_ADDS_LABEL_3 = """<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
<datamode>partial</datamode>
<participant participant_id="cDNwYXJ0aWNpcGFudA==">
<nameID aor="sip:7302@35.162.237.204"></nameID>
</participant>
<stream stream_id="c3RyZWFtLXRocmVl" session_id="kQNhKFdEEeeJ9tD/VsPGWA==">
<label>3</label>
</stream>
<participantstreamassoc participant_id="cDNwYXJ0aWNpcGFudA==">
<send>c3RyZWFtLXRocmVl</send>
</participantstreamassoc>
</recording>
"""
ARN_C = ARN_B.replace("/1680731931114", "/1680731939999")


def test_partial_update_adds_an_expected_leg() -> None:
    base = siprec_call_events(True)
    update = parse_event(
        event("UPDATED", xml=PARTIAL_ADDS_LABEL_3, time="2023-04-05T22:14:05Z", event_id="u-3")
    )
    call, enq = run([base[0], base[1], update, base[3], base[4]])
    assert enq == [] and call.status == CallStatus.ENDED
    assert call.metadata[-1].complete is False
    assert lc.expected_labels(call) == {"1", "2", "3"}
    assert lc.missing_labels(call) == {"3"}
    call, effects = lc.apply_event(
        call, parse_event(event("STARTED", arn=ARN_C, label="3", event_id="s-c"))
    )
    assert effects == []
    call, effects = lc.apply_event(
        call, parse_event(event("ENDED", arn=ARN_C, label="3", event_id="e-c"))
    )
    assert [e.attempt for e in effects] == [1] and call.status == CallStatus.QUEUED


def test_partial_update_sorted_before_the_complete_snapshot_still_counts() -> None:
    # event times have 1 s resolution: an update may sort first; its label must not be lost
    base = siprec_call_events(True)
    update = parse_event(
        event("UPDATED", xml=PARTIAL_ADDS_LABEL_3, time="2023-04-05T22:14:01Z", event_id="u-0")
    )
    call, enq = run([update, *base])
    assert enq == [] and call.status == CallStatus.ENDED
    assert lc.expected_labels(call) == {"1", "2", "3"}


def _fold(*raw: dict[str, Any]) -> Call:
    call: Call | None = None
    for ev in raw:
        call, _ = lc.apply_event(call, parse_event(ev))
    assert call is not None
    return call


@pytest.mark.parametrize("reverse", [False, True])
def test_the_latest_updated_headers_win_whatever_the_arrival_order(reverse: bool) -> None:
    """EventBridge does not keep order: the re-INVITE headers kept are those of the UPDATED
    event stamped last, so a late copy of an older one does not undo a transfer."""
    older = event("UPDATED", time="2023-04-05T22:14:05Z", updateHeaders={"X-Agent": "first"})
    newer = event("UPDATED", time="2023-04-05T22:14:09Z", updateHeaders={"X-Agent": "second"})
    call = _fold(*([newer, older] if reverse else [older, newer]))
    assert call.update_headers == {"X-Agent": "second"}


def test_invite_headers_merge_and_the_first_value_of_each_stays() -> None:
    first = event("STARTED", arn=ARN_A)
    second = event("STARTED", arn=ARN_B)
    second["detail"]["inviteHeaders"] = {"Call-ID": "another", "X-Extra": "1"}
    call = _fold(first, second)
    assert call.invite_headers["Call-ID"] == "e9fffff2020a598b86962867715db0cf"  # first's
    assert call.invite_headers["X-Extra"] == "1" and "From" in call.invite_headers


@pytest.mark.parametrize("started_first", [True, False])
def test_started_owns_a_streams_start_fields_and_ended_its_end(started_first: bool) -> None:
    """Whatever the order, the SDP label and index come from STARTED (an ENDED that repeats
    them differently does not rewrite them) and the end time from ENDED (not a FAILED's)."""
    started = event("STARTED", arn=ARN_A, label="1", index=0)
    ended = event("ENDED", arn=ARN_A, label="9", index=5, time="2023-04-05T22:14:18Z")
    failed = event("FAILED", arn=ARN_A, time="2023-04-05T22:14:10Z")
    call = _fold(*([started, failed, ended] if started_first else [failed, ended, started]))
    s = call.stream(ARN_A)
    assert s is not None
    assert (s.media_label, s.media_index) == ("1", 0)
    assert s.end_time == "2023-04-05T22:14:17.788Z"  # ENDED's endTime, not FAILED's failTime


def test_a_recorded_call_stays_recorded_when_its_job_finishes_again() -> None:
    """An SQS redelivery of a job that already succeeded finishes again with the same outcome.
    A stream that started after the call was final (a late leg, counted as LateStreams) must not
    send the final call back to waiting."""
    claimed = lc.claim_for_recording(queued_call(), 1)
    assert claimed is not None
    done, _ = lc.finish_recording(claimed, CallStatus.RECORDED, "m.json", None, frozenset({ARN_A}))
    late, _ = lc.apply_event(done, parse_event(event("STARTED", arn=ARN_B)))
    again, effects = lc.finish_recording(
        late, CallStatus.RECORDED, "m.json", None, frozenset({ARN_A})
    )
    assert effects == [] and again.status == CallStatus.RECORDED and again.manifest_key == "m.json"


def test_a_final_call_refuses_another_manifest() -> None:
    claimed = lc.claim_for_recording(queued_call(), 1)
    assert claimed is not None
    done = lc.mark_recorded(claimed, CallStatus.RECORDED, "m.json")
    assert lc.mark_recorded(done, CallStatus.RECORDED, "m.json") == done  # the same: a no-op
    with pytest.raises(EventError, match="already RECORDED"):
        lc.mark_recorded(done, CallStatus.RECORDED, "other/manifest.json")


def test_going_back_to_wait_for_a_new_stream_drops_the_checkpoint() -> None:
    """The partial work saved by a checkpointed attempt was planned without the new stream: the
    next attempt must start over, not resume a plan that lacks it."""
    claimed = lc.claim_for_recording(queued_call(), 1)
    assert claimed is not None
    saved = lc.save_checkpoint(claimed, {"done": {ARN_A: {"frames": 1}}})
    during, _ = lc.apply_event(saved, parse_event(event("STARTED", arn=ARN_B)))
    back, _ = lc.finish_recording(during, CallStatus.RECORDED, "m.json", None, frozenset({ARN_A}))
    assert back.status == CallStatus.ENDED and back.checkpoint is None
