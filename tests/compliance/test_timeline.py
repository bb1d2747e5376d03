"""Participant timeline from hand-built SIPREC snapshots: transfer, hold, complete replacement."""

from __future__ import annotations

from datetime import UTC, datetime

from siprec_recorder.metadata.model import Participant, RecordingMetadata, SdpMedia
from siprec_recorder.recording.timeline import build_timeline

T0 = datetime(2026, 11, 26, 7, 0, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0.replace(second=seconds)


CUSTOMER = Participant(
    id="p-cust",
    aor="sip:+18155551212@198.51.100.7",
    name="Pat",
    sends=("0",),
    recvs=("1",),
    associate_time="2026-11-26T07:00:00Z",
)
AGENT_A = Participant(
    id="p-a",
    aor="sip:agent.a@example.com",
    name="Agent A",
    sends=("1",),
    recvs=("0",),
    associate_time="2026-11-26T07:00:01Z",
)


def initial() -> tuple[datetime, RecordingMetadata]:
    md = RecordingMetadata(format="rfc7865", data_mode="complete", participants=(CUSTOMER, AGENT_A))
    return at(2), md


def transfer() -> tuple[datetime, RecordingMetadata]:
    """Partial update: agent A disassociates at :20, agent B joins at :21 and sends label 1."""
    a_leaves = Participant(id="p-a", disassociate_time="2026-11-26T07:00:20Z")
    b_joins = Participant(
        id="p-b",
        aor="sip:agent.b@example.com",
        name="Agent B",
        sends=("1",),
        recvs=("0",),
        associate_time="2026-11-26T07:00:21Z",
    )
    return at(22), RecordingMetadata(
        format="rfc7865", data_mode="partial", participants=(a_leaves, b_joins)
    )


def spans(timeline: list[dict]) -> list[tuple]:
    return [
        (
            e["participant_id"],
            e["label"],
            e["from"][17:19],
            e["to"] and e["to"][17:19],
            e["event"],
            e["end"],
        )
        for e in timeline
    ]


def test_blind_transfer_agent_a_leaves_agent_b_joins() -> None:
    timeline = build_timeline([initial(), transfer()], at(50), roles={"p-a": "agent"})
    assert spans(timeline) == [
        ("p-cust", "0", "00", "50", "joined", "call_end"),
        ("p-a", "1", "01", "20", "joined", "left"),
        ("p-b", "1", "21", "50", "joined", "call_end"),
    ]
    agent_a = timeline[1]
    assert agent_a["role"] == "agent" and "role" not in timeline[0]
    assert agent_a["aor"] == "sip:agent.a@example.com" and agent_a["name"] == "Agent A"
    assert timeline[2]["name"] == "Agent B"
    assert timeline[0]["from"] == "2026-11-26T07:00:00Z"


def test_order_of_arrival_does_not_matter_and_no_end_leaves_intervals_open() -> None:
    timeline = build_timeline([transfer(), initial()], None)
    assert [e["to"] for e in timeline if e["participant_id"] != "p-a"] == [None, None]
    assert [e["end"] for e in timeline] == [None, "left", None]


def test_hold_by_no_longer_sending_then_resume_keeps_name_from_earlier_snapshot() -> None:
    held = Participant(id="p-cust", sends=())  # partial: still associated, sends nothing
    back = Participant(id="p-cust", sends=("0",))
    snaps = [
        initial(),
        (at(10), RecordingMetadata(format="rfc7865", data_mode="partial", participants=(held,))),
        (at(15), RecordingMetadata(format="rfc7865", data_mode="partial", participants=(back,))),
    ]
    cust = [e for e in build_timeline(snaps, at(30)) if e["participant_id"] == "p-cust"]
    assert [(e["from"][17:19], e["to"][17:19], e["event"], e["end"]) for e in cust] == [
        ("00", "10", "joined", "hold"),
        ("10", "15", "hold", "resumed"),
        ("15", "30", "resumed", "call_end"),
    ]
    assert all(e["name"] == "Pat" for e in cust)


def test_hold_signalled_by_an_inactive_m_line() -> None:
    hold_sdp = (
        SdpMedia(index=0, label="0", direction="sendonly"),
        SdpMedia(index=1, label="1", direction="inactive"),
    )
    snaps = [
        initial(),
        (at(5), RecordingMetadata(format="rfc7865", data_mode="partial", sdp=hold_sdp)),
    ]
    agent = [e for e in build_timeline(snaps, at(9)) if e["participant_id"] == "p-a"]
    assert [(e["event"], e["end"]) for e in agent] == [("joined", "hold"), ("hold", "call_end")]


def test_complete_snapshot_without_a_participant_means_it_left_then() -> None:
    only_customer = RecordingMetadata(
        format="rfc7865", data_mode="complete", participants=(CUSTOMER,)
    )
    timeline = build_timeline([initial(), (at(40), only_customer)], at(45))
    assert spans(timeline)[1] == ("p-a", "1", "01", "40", "joined", "left")


def test_unreadable_associate_time_falls_back_to_the_snapshot_time() -> None:
    odd = Participant(id="x", sends=("9",), associate_time="yesterday-ish" * 10)
    md = RecordingMetadata(format="rfc7865", data_mode="complete", participants=(odd,))
    assert build_timeline([(at(7), md)], None)[0]["from"] == "2026-11-26T07:00:07Z"
