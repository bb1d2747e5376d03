"""The lifecycle on the project's simulated SIPREC calls (simulate/, written independently)."""

from __future__ import annotations

from typing import Any

import pytest

from siprec_recorder.calls import lifecycle
from siprec_recorder.calls.events import parse_events
from siprec_recorder.calls.model import Call, CallStatus
from siprec_recorder.simulate.call import simulate_call


def fold(events: list[dict[str, object]]) -> tuple[Call, list[int]]:
    call: Call | None = None
    enqueued: list[int] = []
    for i, raw in enumerate(events):
        for ev in parse_events(raw):
            call, effects = lifecycle.apply_event(call, ev)
            enqueued += [i] * len(effects)
    assert call is not None
    return call, enqueued


@pytest.mark.parametrize(
    "variant", [{}, {"updated": True}, {"reused_stream": True}, {"late_join_s": 1.5}]
)
def test_complete_call_is_queued_by_its_last_ended(variant: dict[str, Any]) -> None:
    sim = simulate_call(duration_s=4, seed=3, **variant)
    call, enqueued = fold(sim.events)
    last_ended = max(
        i for i, e in enumerate(sim.events) if e["detail"]["streamingStatus"] == "ENDED"
    )  # type: ignore[index]
    assert enqueued == [last_ended]
    assert call.status == CallStatus.QUEUED
    assert {s.stream_arn for s in call.streams} == {leg.stream_arn for leg in sim.legs}
    assert call.transaction_id == sim.transaction_id


def test_missing_leg_waits_and_names_the_missing_label() -> None:
    sim = simulate_call(duration_s=4, seed=5, missing_leg=True)
    call, enqueued = fold(sim.events)
    assert enqueued == [] and call.status == CallStatus.ENDED
    assert sorted(lifecycle.missing_labels(call)) == sorted(sim.missing_labels)
