"""The containers metadata arrives in: multipart (LF/CRLF, boundary from header or body), SIP
message, Chime Streaming Status event (envelope or detail), BOM and blank lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from siprec_recorder.metadata.interaction import find_interaction_id
from siprec_recorder.metadata.parse import parse_metadata
from tests.conftest import CHIME_EVENTS, SIPREC_CORPUS
from tests.metadata.corpus_expected import EXPECTED, Expected

WELL_FORMED = sorted(n for n, e in EXPECTED.items() if isinstance(e, Expected))
CNV = "0b1ce2ad-6fd2-4f5b-9c57-7cbb7d5e0a1f"


def people(name: str) -> tuple[tuple[str | None, str | None, tuple[str, ...]], ...]:
    expected = EXPECTED[name]
    assert isinstance(expected, Expected)
    return tuple((p[0], p[1], p[2]) for p in expected.participants)


def got(meta: object) -> tuple[tuple[str | None, str | None, tuple[str, ...]], ...]:
    return tuple((p.aor, p.name, p.sends) for p in meta.participants)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", WELL_FORMED)
def test_crlf_body_parses_like_lf(name: str) -> None:
    text = (SIPREC_CORPUS / f"{name}.txt").read_text()
    assert "\r" not in text
    meta = parse_metadata(text.replace("\n", "\r\n").encode())
    assert got(meta) == people(name)


@pytest.mark.parametrize("name", ["cisco_1", "oracle_3", "broadworks_2"])
def test_bom_and_blank_lines_before_root(name: str) -> None:
    xml = (SIPREC_CORPUS / f"{name}.xml").read_bytes()
    meta = parse_metadata(b"\xef\xbb\xbf\r\n\n  \n" + xml)
    assert got(meta) == people(name)


def test_boundary_from_content_type_with_preamble() -> None:
    body = (SIPREC_CORPUS / "cisco_1.txt").read_text()
    # a preamble line before the first delimiter: the boundary can only come from the header
    body = "This is a preamble.\n" + body
    meta = parse_metadata(body, content_type='multipart/mixed;boundary="uniqueBoundary"')
    assert got(meta) == people("cisco_1")


def test_content_type_boundary_that_the_body_does_not_use() -> None:
    body = (SIPREC_CORPUS / "sems_1.txt").read_text()
    meta = parse_metadata(body, content_type="multipart/mixed; boundary=other")
    assert got(meta) == people("sems_1")
    assert any("boundary" in w for w in meta.warnings)


def test_metadata_part_found_by_disposition() -> None:
    body = (SIPREC_CORPUS / "oracle_1.txt").read_text()
    body = body.replace("Content-Type: application/rs-metadata+xml", "Content-Type: text/plain")
    meta = parse_metadata(body)
    assert got(meta) == people("oracle_1")
    assert any("Content-Disposition" in w for w in meta.warnings)


def test_sip_message_headers_are_kept() -> None:
    meta = parse_metadata((SIPREC_CORPUS / "intrado_1.txt").read_bytes())
    # intrado_1.txt has "Accept:" twice: both values are kept
    assert meta.headers["Accept"] == "application/rs-metadata, application/rs-metadata-request"
    assert meta.headers["CSeq"] == "102 INVITE"


def sample_event(xml: str, **extra: object) -> dict[str, object]:
    """The real STARTED event with the SIPREC fields the Chime documentation lists."""
    event = json.loads((CHIME_EVENTS / "pstn-streaming-started.json").read_text())
    event["detail"].update({"siprecMetadata": xml, "sdp": {"mediaIndex": 0, "mediaLabel": "1"}})
    event["detail"].update(extra)
    return event


def test_event_envelope_and_detail() -> None:
    xml = (SIPREC_CORPUS / "cisco_1.xml").read_text()
    headers = {"X-ININ-CNV": CNV, "Call-ID": "abc@host"}
    event = sample_event(xml, inviteHeaders=headers)
    for obj in (event, event["detail"]):
        meta = parse_metadata(json.dumps(obj))
        assert got(meta) == people("cisco_1")
        found = find_interaction_id(meta)
        assert found is not None
        assert (found.value, found.source) == (CNV, "header:x-inin-cnv")


def test_update_headers_override_invite_headers() -> None:
    xml = (SIPREC_CORPUS / "sems_1.xml").read_text()
    event = sample_event(
        xml,
        streamingStatus="UPDATED",
        inviteHeaders={"x-genesys-conversation-id": "old-id"},
        updateHeaders={"X-Genesys-Conversation-ID": "new-id"},
    )
    meta = parse_metadata(json.dumps(event).encode())
    found = find_interaction_id(meta)
    assert found is not None and found.value == "new-id"


def test_event_with_multipart_metadata() -> None:
    body = (SIPREC_CORPUS / "broadworks_3.txt").read_text()
    meta = parse_metadata(json.dumps(sample_event(body)))
    assert got(meta) == people("broadworks_3")
    assert [m.label for m in meta.sdp] == ["1", "2"]


def test_chime_documentation_artefact() -> None:
    xml = (SIPREC_CORPUS / "sems_1.xml").read_text()
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    mangled = (
        '<&xml version="1.0" encoding="UTF-8"&>'
        + xml[len('<?xml version="1.0" encoding="UTF-8"?>') :]
    )
    meta = parse_metadata(mangled)
    assert got(meta) == people("sems_1")
    assert any("artefact" in w for w in meta.warnings)


def test_explicit_headers_win() -> None:
    path: Path = SIPREC_CORPUS / "oracle_6.txt"
    meta = parse_metadata(path.read_bytes(), headers={"x-inin-cnv": CNV})
    found = find_interaction_id(meta)
    assert found is not None and found.value == CNV
    assert meta.headers["X-Acme-Call-ID"] == "wlss-64071c05-73fde93a6638f450@152.190.6.22"


def test_str_and_bytes_agree() -> None:
    path = SIPREC_CORPUS / "ribbon_1.txt"
    a = parse_metadata(path.read_bytes()).to_dict()
    b = parse_metadata(path.read_text()).to_dict()
    assert a == b


def test_odd_sip_header_line_is_skipped() -> None:
    text = (SIPREC_CORPUS / "intrado_1.txt").read_text()
    text = text.replace("User-Agent: VIPER\n", "User-Agent: VIPER\nthis is not a header\n")
    meta = parse_metadata(text)
    assert meta.headers["User-Agent"] == "VIPER"
    assert meta.headers["Require"] == "siprec"
    assert got(meta) == people("intrado_1")
