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
