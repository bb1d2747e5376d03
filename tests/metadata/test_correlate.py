"""Correlation: stream owner (labels, m-line index, fallbacks), roles, partial-update merging."""

from __future__ import annotations

import pytest

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.correlate import (
    caller_flags,
    expected_labels,
    merge,
    role_of,
    stream_owner,
)
from siprec_recorder.metadata.model import Participant
from siprec_recorder.metadata.parse import parse_metadata
from tests.conftest import SIPREC_CORPUS

NS = 'xmlns="urn:ietf:params:xml:ns:recording:1"'
CISCO_SESSION = "kQNhKFdEEeeJ9tD/VsPGWA=="  # cisco_1.xml <session session_id>
CISCO_7300 = "kQNhKFdEEeeJ+ND/VsPGWA=="  # cisco_1.xml participant with aor sip:7300@...
CISCO_STREAM_2 = "kQOH5VdEEeeJ/dD/VsPGWA=="  # cisco_1.xml stream with label 2


def load(name: str) -> object:
    return parse_metadata((SIPREC_CORPUS / name).read_bytes())


@pytest.mark.parametrize(
    "is_caller, direction, role",
    [
        (True, "Inbound", "customer"),
        (False, "Inbound", "agent"),
        (True, "Outbound", "agent"),
        (False, "Outbound", "customer"),
        (True, "inbound", "customer"),
        (None, "Inbound", "unknown"),
        (True, None, "unknown"),
        (True, "Sideways", "unknown"),
    ],
)
def test_role_from_chime(is_caller: bool | None, direction: str | None, role: str) -> None:
    p = Participant(id="p", aor="sip:+15551234@carrier")
    assert role_of(p, is_caller=is_caller, direction=direction) == role


def test_agent_pattern_overrides_chime() -> None:
    agent = Participant(id="a", aor="sip:Genesys@10.28.70.121")
    other = Participant(id="b", aor="sip:+15551234@carrier")
    kw = {"is_caller": True, "direction": "Inbound", "agent_aor_pattern": r"^sip:genesys@"}
    assert role_of(agent, **kw) == "agent"  # type: ignore[arg-type]
    assert role_of(other, **kw) == "customer"  # type: ignore[arg-type]
    with pytest.raises(MetadataError):
        role_of(other, is_caller=True, direction="Inbound", agent_aor_pattern="(")


def test_caller_flags_from_chime_is_caller() -> None:
    meta = load("cisco_1.xml")
    flags = caller_flags(meta, caller_label="2", is_caller=True)  # type: ignore[arg-type]
    # label 2 is sent by sip:7300 (participantstreamassoc in cisco_1.xml)
    by_aor = {p.aor: flags[p.id] for p in meta.participants}  # type: ignore[attr-defined]
    assert by_aor == {"sip:7300@35.162.237.204": True, "sip:7301@35.162.237.204": False}


def test_caller_flags_from_oracle_calling_party() -> None:
    meta = load("oracle_1.xml")  # apkt:callingParty true for sip:9000, false for sip:1002
    flags = caller_flags(meta)  # type: ignore[arg-type]
    assert [flags[p.id] for p in meta.participants] == [True, False]  # type: ignore[attr-defined]


def test_label_disagreeing_with_sdp_prefers_media_label() -> None:
    meta = load("oracle_4.txt")
    # m-line 1 of the SDP has a=label:1006644282, Chime says 1006644283 (sent by sip:Genesys)
    owner, warnings = stream_owner(meta, "1006644283", 1)  # type: ignore[arg-type]
    assert owner is not None and owner.aor == "sip:Genesys@10.28.70.121"
    assert any("disagrees" in w for w in warnings)


def test_unknown_label_falls_back_to_sdp_index() -> None:
    meta = load("oracle_4.txt")
    owner, warnings = stream_owner(meta, "42", 2)  # type: ignore[arg-type]
    # m-line 2 is a=label:1006644283, sent by sip:Genesys
    assert owner is not None and owner.aor == "sip:Genesys@10.28.70.121"
    assert any("not in the metadata" in w for w in warnings)


def test_unknown_label_without_sdp_uses_stream_order() -> None:
    meta = load("sems_1.xml")  # second <stream> is b_leg, sent by Extension-016190619
    owner, warnings = stream_owner(meta, "2", 1)  # type: ignore[arg-type]
    assert owner is not None and owner.aor == "Extension-016190619@speechpath.ie"
    assert any("stream order" in w for w in warnings)
    assert stream_owner(meta, "nope", None)[0] is None  # type: ignore[arg-type]
    assert stream_owner(meta, None, 7)[0] is None  # type: ignore[arg-type]


def test_mixed_stream_has_no_single_owner() -> None:
    xml = (
        f"<recording {NS}><datamode>complete</datamode>"
        '<participant participant_id="a"/><participant participant_id="b"/>'
        '<stream stream_id="m" session_id="s"><label>7</label></stream>'
        '<participantstreamassoc participant_id="a"><send>m</send></participantstreamassoc>'
        '<participantstreamassoc participant_id="b"><send>m</send></participantstreamassoc>'
        "</recording>"
    )
    meta = parse_metadata(xml)
    owner, warnings = stream_owner(meta, "7", 0)
    assert owner is None
    assert any("mixed" in w for w in warnings)
    assert expected_labels(meta) == ["7"]


def test_dangling_references_are_warnings() -> None:
    xml = (
        f"<recording {NS}><datamode>complete</datamode>"
        '<participant participant_id="a"/>'
        '<stream stream_id="s1" session_id="s"><label>1</label></stream>'
        '<participantstreamassoc participant_id="a"><send>s1</send><send>ghost</send>'
        "<recv>ghost2</recv></participantstreamassoc>"
        '<participantstreamassoc participant_id="nobody"><send>s1</send>'
        "</participantstreamassoc></recording>"
    )
    meta = parse_metadata(xml)
    assert meta.participants[0].sends == ("1",)
    assert sum("undeclared stream" in w for w in meta.warnings) == 2
    assert any("undeclared participant" in w for w in meta.warnings)


PARTIAL = (
    f"<recording {NS}><datamode>partial</datamode>"
    '<participant participant_id="new"><nameID aor="sip:7400@35.162.237.204">'
    "<name>7400</name></nameID></participant>"
    f'<participantsessionassoc participant_id="new" session_id="{CISCO_SESSION}">'
    "<associate-time>2017-06-23T12:17:00Z</associate-time></participantsessionassoc>"
    f'<participantsessionassoc participant_id="{CISCO_7300}" session_id="{CISCO_SESSION}">'
    "<disassociate-time>2017-06-23T12:18:00Z</disassociate-time></participantsessionassoc>"
    f'<stream stream_id="s3" session_id="{CISCO_SESSION}"><label>3</label></stream>'
    '<participantstreamassoc participant_id="new"><send>s3</send>'
    f"<recv>{CISCO_STREAM_2}</recv></participantstreamassoc>"
    "</recording>"
)


def test_partial_update_merges_joins_and_leaves() -> None:
    complete = load("cisco_1.xml")
    partial = parse_metadata(PARTIAL)
    assert partial.data_mode == "partial"
    assert not any("undeclared" in w for w in partial.warnings)
    merged = merge(complete, partial)  # type: ignore[arg-type]
    assert merged.data_mode == "complete"
    by_aor = {p.aor: p for p in merged.participants}
    assert list(by_aor) == [
        "sip:7301@35.162.237.204",
        "sip:7300@35.162.237.204",
        "sip:7400@35.162.237.204",
    ]
    left = by_aor["sip:7300@35.162.237.204"]
    assert left.associate_time == "2017-06-23T12:16:06.040Z"  # kept from the complete one
    assert left.disassociate_time == "2017-06-23T12:18:00Z"
    assert left.sends == ("2",)
    joined = by_aor["sip:7400@35.162.237.204"]
    assert joined.associate_time == "2017-06-23T12:17:00Z"
    assert joined.sends == ("3",) and joined.recvs == ("2",)
    assert expected_labels(merged) == ["1", "2", "3"]


def test_caller_flags_from_intrado_role() -> None:
    meta = load("intrado_1.txt")  # <role>calling</role> on its only participant
    assert list(caller_flags(meta).values()) == [True]  # type: ignore[arg-type]


def test_sdp_labels_disagreeing_with_metadata() -> None:
    body = (SIPREC_CORPUS / "sems_1.txt").read_text()
    body = body.replace("a=label:a_leg", "a=label:1").replace("a=label:b_leg", "a=label:2")
    meta = parse_metadata(body)
    assert any("SDP and metadata labels differ" in w for w in meta.warnings)
    # Chime reports the SDP label "2" on m-line 1: the second <stream> (b_leg) is meant
    owner, warnings = stream_owner(meta, "2", 1)
    assert owner is not None and owner.aor == "Extension-016190619@speechpath.ie"
    assert warnings


def test_an_update_adds_streams_to_a_participant_and_headers_to_the_call() -> None:
    """A participant that starts sending a second stream (a transfer onto a new m-line) keeps
    the stream it had: labels once sent stay expected. Headers of both snapshots are kept, the
    update's winning where both have one."""
    complete = parse_metadata(
        (SIPREC_CORPUS / "cisco_1.xml").read_bytes(), headers={"X-First": "1", "X-Both": "old"}
    )
    update = (
        f"<recording {NS}><datamode>partial</datamode>"
        f'<stream stream_id="s3" session_id="{CISCO_SESSION}"><label>3</label></stream>'
        f'<participantstreamassoc participant_id="{CISCO_7300}"><send>s3</send>'
        "</participantstreamassoc></recording>"
    )
    partial = parse_metadata(update, headers={"X-Second": "2", "X-Both": "new"})
    merged = merge(complete, partial)  # type: ignore[arg-type]
    by_aor = {p.aor: p for p in merged.participants}
    assert by_aor["sip:7300@35.162.237.204"].sends == ("2", "3")
    assert expected_labels(merged) == ["1", "2", "3"]
    got = {k.lower(): v for k, v in merged.headers.items()}
    assert (got["x-first"], got["x-second"], got["x-both"]) == ("1", "2", "new")


def test_streams_nobody_sends_go_to_participants_that_send_nothing_in_order() -> None:
    """A sends s1; B and C send nothing; s2, s3 and s4 have no sender. s2 goes to B and s3 to
    C (document order, never to A, which has its stream), s4 to nobody."""
    from siprec_recorder.metadata.correlate import owners

    xml = (
        f"<recording {NS}><datamode>complete</datamode>"
        '<participant participant_id="a"/><participant participant_id="b"/>'
        '<participant participant_id="c"/>'
        + "".join(
            f'<stream stream_id="s{i}" session_id="x"><label>{i}</label></stream>'
            for i in range(1, 5)
        )
        + '<participantstreamassoc participant_id="a"><send>s1</send></participantstreamassoc>'
        "</recording>"
    )
    found, notes = owners(parse_metadata(xml))
    got = {sid: (p.id if p else None) for sid, p in found.items()}
    assert got == {"s1": "a", "s2": "b", "s3": "c", "s4": None}
    assert "by document order" in notes["s2"] and "no participant sends" in notes["s4"]
