"""Every sample of the SIPREC corpus (.txt whole body/message and .xml metadata alone) against
the values written by hand in corpus_expected.py (sources listed there, all MIT)."""

from __future__ import annotations

import pytest

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.correlate import expected_labels, stream_owner
from siprec_recorder.metadata.interaction import call_ids, find_interaction_id
from siprec_recorder.metadata.parse import parse_metadata
from tests.conftest import SIPREC_CORPUS
from tests.metadata.corpus_expected import EXPECTED, Expected

HEADER_KEYS = {"sip_call_id", "cisco_gucid", "cisco_guid", "uui_ucid", "session_id"}
FILES = sorted(p for p in SIPREC_CORPUS.iterdir() if p.suffix in (".txt", ".xml"))


def test_every_sample_has_expectations() -> None:
    names = {p.stem for p in FILES}
    assert len(names) == 20
    assert names == set(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sample(path) -> None:  # type: ignore[no-untyped-def]
    expected = EXPECTED[path.stem]
    data = path.read_bytes()
    if isinstance(expected, str):
        with pytest.raises(MetadataError, match=expected):
            parse_metadata(data)
        return
    meta = parse_metadata(data)
    whole = path.suffix == ".txt"
    assert meta.format == expected.format
    assert meta.data_mode == "complete"
    got = tuple((p.aor, p.name, p.sends, p.recvs) for p in meta.participants)
    assert got == expected.participants
    assert tuple(s.label for s in meta.streams) == expected.stream_labels
    if expected.participant_ids:
        assert tuple(p.id for p in meta.participants) == expected.participant_ids
    if expected.session_id:
        assert meta.sessions[0].id == expected.session_id
    if expected.start_time:
        assert meta.sessions[0].start_time == expected.start_time
    if expected.sip_session_id:
        assert meta.sessions[0].sip_session_id == expected.sip_session_id
    for key, value in expected.extension.items():
        assert meta.extension[key] == value
    for index, ext in expected.participant_extension.items():
        for key, value in ext.items():
            assert meta.participants[index].extension[key] == value
    repairs = [w for w in meta.warnings if w.startswith("repaired")]
    if expected.repaired:
        assert len(repairs) == 1 and f"'{expected.repaired}'" in repairs[0]
    else:
        assert repairs == []
    assert tuple(m.label for m in meta.sdp) == (expected.sdp_labels if whole else ())
    for name, value in (expected.headers if whole else {}).items():
        assert meta.headers[name] == value

    found = find_interaction_id(meta)
    assert (None if found is None else (found.value, found.source)) == expected.interaction
    ids = call_ids(meta)
    for key, value in expected.call_ids.items():
        if whole or key not in HEADER_KEYS:
            assert ids[key] == value, key
    for key, value in (expected.txt_call_ids if whole else {}).items():
        assert ids[key] == value, key
    if not whole:
        assert not (HEADER_KEYS | set(expected.txt_call_ids)) & set(ids)


@pytest.mark.parametrize(
    "name", [n for n, e in EXPECTED.items() if isinstance(e, Expected)], ids=str
)
def test_mapping(name: str) -> None:
    """Each stream label belongs to the participant the file says sends it (or by order)."""
    expected = EXPECTED[name]
    assert isinstance(expected, Expected)
    meta = parse_metadata((SIPREC_CORPUS / f"{name}.txt").read_bytes())
    assert expected_labels(meta) == list(expected.stream_labels)
    for label in expected.stream_labels:
        owner, warnings = stream_owner(meta, label, None)
        assert owner is not None
        if expected.order_fallback:
            position = expected.stream_labels.index(label)
            assert owner.aor == expected.participants[position][0]
            assert any("document order" in w for w in warnings)
        else:
            senders = [p for p in expected.participants if label in p[2]]
            assert [owner.aor] == [p[0] for p in senders]
            assert warnings == []


def test_sdp_directions_oracle_4() -> None:
    # oracle_4.txt: m-lines 1 and 3 a=sendonly, 2 and 4 a=inactive (read from the file)
    meta = parse_metadata((SIPREC_CORPUS / "oracle_4.txt").read_bytes())
    assert [m.direction for m in meta.sdp] == ["sendonly", "inactive", "sendonly", "inactive"]
    assert [m.port for m in meta.sdp] == [43810, 43814, 43818, 43822]


def test_media_index_uses_sdp_order_not_stream_order() -> None:
    # oracle_4: stream order in the XML is 281, 283, 282, 284 but m-line 1 is label ...282
    meta = parse_metadata((SIPREC_CORPUS / "oracle_4.txt").read_bytes())
    owner, warnings = stream_owner(meta, None, 1)
    assert owner is not None and owner.aor is not None
    assert owner.aor.startswith("sip:record=01PEP83ES8B0FC7QD151Q2LAES00022M")
    assert any("1006644282" in w for w in warnings)


def test_extension_namespaces_are_kept() -> None:
    # audiocodes_1: <ac:AvayaUCID xmlns="urn:ietf:params:xml:ns:Avaya">: the element is in the
    # ac prefix's namespace (http://AudioCodes); the default declaration does not change it.
    meta = parse_metadata((SIPREC_CORPUS / "audiocodes_1.xml").read_bytes())
    assert meta.extension_ns["AvayaUCID"] == "http://AudioCodes"
    # oracle_4: the session's apkt prefix is bound to "http:/acmepacket.com/..." (one slash)
    meta = parse_metadata((SIPREC_CORPUS / "oracle_4.xml").read_bytes())
    assert meta.extension_ns["ucid"] == "http:/acmepacket.com/siprec/extensiondata"
    assert meta.extension["callerOrig"] == "true"
