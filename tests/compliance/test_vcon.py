"""vCon output: validates against the draft structure, carries the interaction id, hashes match."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from siprec_recorder.recording.model import CallFacts
from siprec_recorder.recording.vcon import build_vcon, load_vcon_schema, party_from_aor
from tests.compliance.fixtures import PREFIX, TXID, make_recording
from tests.conftest import CHIME_EVENTS, SIPREC_CORPUS

START = datetime(2026, 11, 26, 7, 0, 0, tzinfo=UTC)


def facts(manifest: dict, **over) -> CallFacts:
    event = json.loads((CHIME_EVENTS / "pstn-streaming-started.json").read_text())
    xml = sorted(SIPREC_CORPUS.glob("*.xml"))[0].read_text()
    base = dict(
        transaction_id=TXID,
        call_id=manifest["call_id"],
        voice_connector_id=manifest["voice_connector_id"],
        interaction_id=manifest["interaction_id"],
        interaction_id_source=manifest["interaction_id_source"],
        call_ids={"sip": "abc@host"},
        start_time=START,
        end_time=datetime(2026, 11, 26, 7, 0, 6, tzinfo=UTC),
        declared_labels=["0", "1"],
        siprec_xml=xml,
        chime_events=[event["detail"]],
    )
    base.update(over)
    return CallFacts(**base)


@pytest.fixture
def recording(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "rec"
    return root, make_recording(root)


def validator() -> jsonschema.Draft202012Validator:
    schema = load_vcon_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_vcon_validates_and_carries_the_interaction_id(recording) -> None:
    root, manifest = recording
    vcon = build_vcon(manifest, facts(manifest))
    errors = [e.message for e in validator().iter_errors(vcon)]
    assert errors == []
    assert vcon["vcon"] == "0.4.0" and "CC" in vcon["extensions"]
    assert [d["interaction_id"] for d in vcon["dialog"]] == [manifest["interaction_id"]] * 3
    interaction = next(a for a in vcon["attachments"] if a["purpose"] == "interaction")
    assert interaction["body"]["interaction_id"] == manifest["interaction_id"]
    assert interaction["body"]["transaction_id"] == TXID
    siprec = next(a for a in vcon["attachments"] if a["purpose"] == "siprec_metadata")
    assert siprec["body"] == sorted(SIPREC_CORPUS.glob("*.xml"))[0].read_text()
    assert vcon["created_at"] == manifest["end_time"]


def test_parties_dialogs_and_channels(recording) -> None:
    _, manifest = recording
    vcon = build_vcon(manifest, facts(manifest))
    assert vcon["parties"] == [
        {
            "tel": "+18155551212",
            "sip": "sip:+18155551212@198.51.100.7",
            "name": "Pat Caller",
            "role": "customer",
        },
        {"sip": "sip:agent.smith@example.mypurecloud.com", "name": "Agent Smith", "role": "agent"},
    ]
    mono_c, mono_a, stereo = vcon["dialog"]
    assert (mono_c["parties"], mono_a["parties"], stereo["parties"]) == (0, 1, [0, 1])
    assert "originator" not in mono_c and mono_a["originator"] == 0  # the caller
    assert stereo["filename"] == "stereo.wav" and stereo["mediatype"] == "audio/x-wav"
    assert stereo["duration"] == 6.0  # 48000 samples at 8 kHz


def test_content_hashes_match_the_files(recording) -> None:
    root, manifest = recording
    vcon = build_vcon(manifest, facts(manifest))
    for dialog in vcon["dialog"]:
        algo, _, b64 = dialog["content_hash"].partition("-")
        assert algo == "sha256"
        digest = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        assert digest == hashlib.sha256((root / dialog["filename"]).read_bytes()).digest()
        assert "=" not in b64


def test_sha512_first_when_the_manifest_has_it(recording) -> None:
    root, manifest = recording
    for obj in manifest["objects"]:
        obj["sha512"] = hashlib.sha512(
            (root / obj["key"].rsplit("/", 1)[1]).read_bytes()
        ).hexdigest()
    vcon = build_vcon(manifest, facts(manifest), url_base="https://recs.example.com/")
    dialog = vcon["dialog"][0]
    assert [t.split("-")[0] for t in dialog["content_hash"]] == ["sha512", "sha256"]
    b64 = dialog["content_hash"][0].split("-", 1)[1]
    assert (
        base64.urlsafe_b64decode(b64 + "==")
        == hashlib.sha512((root / "customer-0.wav").read_bytes()).digest()
    )
    assert dialog["url"] == "https://recs.example.com/" + PREFIX + "customer-0.wav"
    assert list(validator().iter_errors(vcon)) == []


def test_deterministic_version_8_uuid_from_transaction_and_start(recording) -> None:
    _, manifest = recording
    a = build_vcon(manifest, facts(manifest))
    b = build_vcon(copy.deepcopy(manifest), facts(manifest))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    u = uuid.UUID(a["uuid"])
    assert u.version == 8 and u.variant == uuid.RFC_4122
    assert int(u.hex[:12], 16) == int(START.timestamp() * 1000)  # unix_ts_ms field
    other = build_vcon(manifest, facts(manifest, transaction_id="another-call"))
    assert other["uuid"] != a["uuid"] and other["uuid"][:13] == a["uuid"][:13]


def test_transfer_puts_both_agents_on_the_agent_stream(recording) -> None:
    _, manifest = recording
    manifest["participants"][1]["participant_id"] = "p-b"
    manifest["timeline"] = [
        {
            "participant_id": "p-a",
            "label": "1",
            "aor": "sip:agent.a@example.com",
            "name": "Agent A",
            "role": "agent",
            "from": "2026-11-26T07:00:00Z",
            "to": "2026-11-26T07:00:03Z",
            "event": "joined",
            "end": "left",
        },
        {
            "participant_id": "p-b",
            "label": "1",
            "aor": "sip:agent.smith@example.mypurecloud.com",
            "name": "Agent Smith",
            "from": "2026-11-26T07:00:04Z",
            "to": "2026-11-26T07:00:06Z",
            "event": "joined",
            "end": "call_end",
        },
    ]
    vcon = build_vcon(manifest, facts(manifest))
    assert vcon["parties"][2]["name"] == "Agent A"
    agent_dialog = vcon["dialog"][1]
    assert agent_dialog["parties"] == [1, 2]
    assert agent_dialog["party_history"] == [
        {"party": 2, "time": "2026-11-26T07:00:00Z", "event": "join"},
        {"party": 2, "time": "2026-11-26T07:00:03Z", "event": "drop"},
        {"party": 1, "time": "2026-11-26T07:00:04Z", "event": "join"},
    ]
    assert vcon["dialog"][2]["parties"] == [0, [1, 2]]
    assert list(validator().iter_errors(vcon)) == []


@pytest.mark.parametrize(
    ("path", "member"),
    [
        ((), "uuid"),
        ((), "created_at"),
        (("dialog", 0), "type"),
        (("attachments", 0), "party"),
        (("attachments", 0), "start"),
        (("analysis", 0), "vendor"),
    ],
)
def test_missing_required_member_fails(recording, path, member) -> None:
    _, manifest = recording
    vcon = build_vcon(manifest, facts(manifest))
    target = vcon
    for step in path:
        target = target[step]
    del target[member]
    assert not validator().is_valid(vcon)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v["dialog"][0].update(content_hash="SHA-256:abc"),
        lambda v: v["dialog"][0].update(url="http://insecure.example.com/x.wav"),
        lambda v: v["dialog"][0].update(type="incomplete"),  # needs disposition, no content
        lambda v: v["dialog"][0].update(parties=[-1]),
        lambda v: v.update(created_at="26/11/2026"),
    ],
)
def test_broken_members_fail(recording, mutate) -> None:
    _, manifest = recording
    vcon = build_vcon(manifest, facts(manifest))
    mutate(vcon)
    assert not validator().is_valid(vcon)


@pytest.mark.parametrize(
    ("aor", "expected"),
    [
        ("tel:+14155550100;phone-context=x", {"tel": "+14155550100"}),
        ("sips:alice@example.com", {"sip": "sips:alice@example.com"}),
        ("mailto:bob@example.com", {"mailto": "bob@example.com"}),
        (None, {}),
    ],
)
def test_party_uri_forms(aor, expected) -> None:
    assert party_from_aor(aor, None, None) == expected


def test_party_without_audio_keeps_its_party_but_has_no_dialog(recording) -> None:
    _, manifest = recording
    manifest["participants"][1]["key"] = None
    manifest["stereo"] = None
    vcon = build_vcon(manifest, facts(manifest, siprec_xml=None, chime_events=[]))
    assert len(vcon["parties"]) == 2 and [d["parties"] for d in vcon["dialog"]] == [0]
    assert [a["purpose"] for a in vcon["attachments"]] == ["interaction"]
    assert list(validator().iter_errors(vcon)) == []


def test_call_without_audio_gets_an_incomplete_dialog(recording) -> None:
    _, manifest = recording
    for p in manifest["participants"]:
        p["key"] = None
    manifest["stereo"] = None
    vcon = build_vcon(manifest, facts(manifest))
    (dialog,) = vcon["dialog"]
    assert dialog["type"] == "incomplete" and dialog["disposition"] == "failed"
    assert dialog["parties"] == [0, 1] and dialog["interaction_id"] == manifest["interaction_id"]
    assert not {"body", "url", "filename", "content_hash"} & dialog.keys()
    assert [a["purpose"] for a in vcon["attachments"]] == [
        "interaction",
        "siprec_metadata",
        "chime_streaming_status",
    ]
    for item in vcon["attachments"] + vcon["analysis"]:
        indices = item["dialog"] if isinstance(item["dialog"], list) else [item["dialog"]]
        assert indices and all(0 <= i < len(vcon["dialog"]) for i in indices)
    assert list(validator().iter_errors(vcon)) == []
