"""The recording plan keeps what the call record knows: a late stream failure is not dropped."""

from __future__ import annotations

from dataclasses import replace

from siprec_recorder.calls.model import CallStatus
from siprec_recorder.pipeline.offline import fold_events
from siprec_recorder.pipeline.plan import plan_call
from siprec_recorder.simulate import simulate_call


def test_a_stream_failure_after_the_call_was_queued_reaches_the_manifest_warnings():
    call = fold_events(simulate_call(duration_s=2, seed=31).events)
    assert call.status == CallStatus.QUEUED
    reason = "stream_failed: media server timeout"
    plan = plan_call(replace(call, stream_failure=reason))
    assert any(reason in w for w in plan.facts.warnings)
    assert not any(reason in w for w in plan_call(call).facts.warnings)


def test_an_invalid_agent_aor_pattern_is_a_warning_not_a_failed_call():
    """AGENT_AOR_PATTERN is a deployment parameter: a typo in it must not fail every call."""
    call = fold_events(simulate_call(duration_s=2, seed=32).events)
    expected = {s.label: s.role for s in plan_call(call).streams}
    assert set(expected.values()) == {"customer", "agent"}
    plan = plan_call(call, agent_aor_pattern="([")
    assert {s.label: s.role for s in plan.streams} == expected
    assert any("AGENT_AOR_PATTERN" in w for w in plan.facts.warnings)


def test_a_hostile_stream_label_is_ignored_not_a_failed_call():
    """A label longer than the manifest allows made build_recording refuse the whole call."""
    import json

    sim = simulate_call(duration_s=2, seed=33)
    events = json.loads(json.dumps(sim.events))
    label = "L" * 300
    for e in events:
        xml = e["detail"].get("siprecMetadata")
        if xml:
            # one more declared stream, sent by a participant (RFC 7865 association)
            pid = xml.split('participant_id="', 1)[1].split('"', 1)[0]
            extra = (
                f'<stream stream_id="aGVsbG8="><label>{label}</label></stream>'
                f'<participantstreamassoc participant_id="{pid}"><send>aGVsbG8=</send>'
                "</participantstreamassoc></recording>"
            )
            xml = xml.replace("</recording>", extra)
            e["detail"]["siprecMetadata"] = xml
    call = fold_events(events)
    plan = plan_call(call)
    assert label not in [s.label for s in plan.streams]
    assert sorted(s.label for s in plan.streams) == sorted(leg.label for leg in sim.legs)
    assert any("over 256 characters" in w for w in plan.facts.warnings)


def test_sdp_labels_that_disagree_with_the_metadata_are_used_not_reported_missing():
    """The SRC's XML says labels 10/20, its SDP (Chime's mediaLabel) 1/2: the call is ready when
    both streams end (it waited for the sweeper before), and the recording has the two arrived
    streams with their owners and roles, not two more 'never started' parties (a false
    one-way recording)."""
    import json

    sim = simulate_call(duration_s=2, seed=34)
    events = json.loads(json.dumps(sim.events))
    for e in events:
        xml = e["detail"].get("siprecMetadata")
        if xml:
            assert "<label>1</label>" in xml and "<label>2</label>" in xml
            xml = xml.replace("<label>1</label>", "<label>10</label>")
            e["detail"]["siprecMetadata"] = xml.replace("<label>2</label>", "<label>20</label>")
    call = fold_events(events)
    assert call.status == CallStatus.QUEUED
    plan = plan_call(call)
    assert sorted(s.label for s in plan.streams) == ["1", "2"]
    assert all(s.stream is not None and s.participant is not None for s in plan.streams)
    assert {s.role for s in plan.streams} == {"customer", "agent"}
    assert sorted(plan.facts.declared_labels) == ["1", "2"]
    assert any("used for metadata label 10" in w for w in plan.facts.warnings)
