"""build_recording end to end into a DirectoryStore: files, keys, tags, manifest, determinism."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from siprec_recorder.errors import MetadataError, StorageError
from siprec_recorder.recording.build import build_recording
from siprec_recorder.recording.integrity import check_recording
from siprec_recorder.recording.manifest import validate_manifest
from siprec_recorder.recording.model import OutputOptions, PartyAudio, QuarantineItem
from siprec_recorder.recording.store import DirectoryStore, StoredObject
from tests.conftest import REPO_ROOT
from tests.recording.support import RATE, T0_NS, call, ffmpeg_decode, party, spool, tone

SCHEMA = json.loads(
    (REPO_ROOT / "layers/siprec_recorder/siprec_recorder/schemas/manifest.schema.json").read_text()
)
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
TXID = "8a3b1c2d-0000-4000-8000-00000000abcd"  # tests.recording.support.call's transaction id
FOLDER = f"recordings/2026/11/26/{UUID}/{TXID}/"


class OrderedStore(DirectoryStore):
    """A DirectoryStore that remembers the order objects were written in."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.order: list[str] = []

    def put_file(self, key: str, path: Path, **kw: object) -> StoredObject:  # type: ignore[override]
        self.order.append(key)
        return super().put_file(key, path, **kw)  # type: ignore[arg-type]

    def put_bytes(self, key: str, data: bytes, **kw: object) -> StoredObject:  # type: ignore[override]
        self.order.append(key)
        return super().put_bytes(key, data, **kw)  # type: ignore[arg-type]


class HmacSigner:
    key_id = "local-test-key"
    algorithm = "HMAC_SHA_256"

    def sign(self, digest: bytes) -> bytes:
        return hmac.new(b"secret", digest, "sha256").digest()


class HmacVerifier:
    def verify(self, digest: bytes, signature: bytes, key_id: str, algorithm: str) -> bool:
        return hmac.compare_digest(hmac.new(b"secret", digest, "sha256").digest(), signature)


def _parties(tmp: Path) -> tuple[list[PartyAudio], np.ndarray, np.ndarray]:
    cust, agent = tone(RATE * 6 + 33, seed=1, amp=4000), tone(RATE * 5, seed=2, amp=4000)
    parties = [
        party("1", spool(cust, tmp), T0_NS + 500_000_000, role="customer", is_caller=True),
        party("2", spool(agent, tmp), T0_NS, role="agent", is_caller=False),
    ]
    return parties, cust, agent


def test_wav_recording_files_manifest_and_tags(tmp_path: Path) -> None:
    parties, cust, agent = _parties(tmp_path)
    store = OrderedStore(tmp_path / "out")
    manifest = build_recording(call(["1", "2"]), parties, store, OutputOptions(fmt="wav"))
    root = tmp_path / "out"

    # mono files are each party's own PCM; stereo is the aligned call (customer left)
    cust_key, agent_key = FOLDER + "customer-1.wav", FOLDER + "agent-2.wav"
    np.testing.assert_array_equal(ffmpeg_decode(root / cust_key, 1)[:, 0], cust)
    np.testing.assert_array_equal(ffmpeg_decode(root / agent_key, 1)[:, 0], agent)
    off = 4000  # 0.5 s at 8 kHz
    expected = np.zeros((off + len(cust), 2), np.int16)
    expected[off:, 0] = cust
    expected[: len(agent), 1] = agent
    np.testing.assert_array_equal(ffmpeg_decode(root / FOLDER / "stereo.wav", 2), expected)

    # manifest: last object written, valid against the schema, digests match the files
    assert store.order[-1] == FOLDER + "manifest.json"
    on_disk = json.loads((root / FOLDER / "manifest.json").read_text())
    assert on_disk == manifest
    jsonschema.Draft202012Validator(SCHEMA).validate(on_disk)
    listed = {o["key"]: o for o in on_disk["objects"]}
    assert {cust_key, agent_key, FOLDER + "stereo.wav"} <= set(listed)
    assert FOLDER + "manifest.json" not in listed
    for key, obj in listed.items():
        data = (root / key).read_bytes()
        assert obj["sha256"] == hashlib.sha256(data).hexdigest() and obj["bytes"] == len(data)
    p1 = next(p for p in on_disk["participants"] if p["label"] == "1")
    assert p1["key"] == cust_key and p1["samples"] == len(cust) and p1["offset_samples"] == off
    assert p1["start_time"] == "2025-11-26T07:00:00.500000Z"
    assert on_disk["stereo"]["left"] == "1" and on_disk["stereo"]["right"] == "2"
    assert on_disk["stereo"]["samples"] == len(expected) and on_disk["one_way"] is None
    assert on_disk["duration_seconds"] == round(len(expected) / RATE, 3)

    # tags: ids + role only, no phone number or name anywhere in any tag file
    for tag_file in root.rglob("*.tags.json"):
        text = tag_file.read_text()
        assert "415555" not in text and "Person" not in text and "sip:" not in text
    assert store.get_tags(cust_key) == {
        "Genesys-Interaction-ID": UUID,
        "TransactionId": "8a3b1c2d-0000-4000-8000-00000000abcd",
        "CallId": "6f1d2a3b-call@sbc.example",
        "Participant": "customer",
    }
    assert store.get_tags(FOLDER + "stereo.wav")["Participant"] == "stereo"  # type: ignore[index]
    assert store.get_tags(FOLDER + "manifest.json")["Participant"] == "call"  # type: ignore[index]

    # the integrity checker (another module) agrees with every object
    result = check_recording(root / FOLDER)
    assert result.problems == [] and result.objects_checked == len(listed)


@pytest.mark.parametrize("fmt", ["opus", "flac"])
def test_rerunning_gives_byte_identical_objects(tmp_path: Path, fmt: str) -> None:
    parties, _, _ = _parties(tmp_path)
    roots = [tmp_path / "a", tmp_path / "b"]
    for root in roots:
        options = OutputOptions(fmt=fmt, report=True, signer=HmacSigner())
        build_recording(call(["1", "2"]), parties, DirectoryStore(root), options)
    files = sorted(p.relative_to(roots[0]) for p in roots[0].rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {"report.png", f"{UUID}.vcon.json", "manifest.json.sig", f"stereo.{fmt}"} <= names
    assert files == sorted(p.relative_to(roots[1]) for p in roots[1].rglob("*") if p.is_file())
    for rel in files:
        assert (roots[0] / rel).read_bytes() == (roots[1] / rel).read_bytes(), rel


def test_signed_manifest_verifies_and_detects_tampering(tmp_path: Path) -> None:
    parties, _, _ = _parties(tmp_path)
    store = OrderedStore(tmp_path / "out")
    build_recording(call(["1", "2"]), parties, store, OutputOptions(signer=HmacSigner()))
    assert store.order[-2:] == [FOLDER + "manifest.json", FOLDER + "manifest.json.sig"]
    folder = tmp_path / "out" / FOLDER
    sig = json.loads((folder / "manifest.json.sig").read_text())
    manifest_sha = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    assert sig["manifest_sha256"] == manifest_sha and sig["key_id"] == "local-test-key"
    trusted = ["local-test-key"]
    checked = check_recording(folder, verifier=HmacVerifier(), trusted_key_ids=trusted)
    assert checked.signature_valid is True and checked.problems == []
    wav = folder / "agent-2.wav"
    wav.write_bytes(wav.read_bytes()[:-2] + b"\x01\x00")
    tampered = check_recording(folder, verifier=HmacVerifier(), trusted_key_ids=trusted)
    assert [p.key for p in tampered.problems] == [FOLDER + "agent-2.wav"]


def test_one_way_call_still_writes_the_surviving_party_and_quarantine(tmp_path: Path) -> None:
    cust = tone(RATE * 4, seed=3, amp=4000)
    parties = [
        party("1", spool(cust, tmp_path), role="customer"),
        party("2", None, role="agent"),
    ]
    parties[1].decode_error = "EBML element too large"
    raw = tmp_path / "raw.mkv"
    raw.write_bytes(b"\x1a\x45\xdf\xa3broken")
    arn = "arn:aws:kinesisvideo:us-east-1:1:stream/ChimeVoiceConnector-vc1-2/1"
    items = [QuarantineItem("2", arn, "EBML element\ntoo large", raw)]
    store = DirectoryStore(tmp_path / "out")
    manifest = build_recording(
        call(["1", "2"]), parties, store, OutputOptions(fmt="flac"), quarantine=items
    )
    assert manifest["one_way"]["missing"] == ["2"] and manifest["one_way"]["arrived"] == ["1"]
    assert manifest["stereo"]["right"] == "2"  # silent right channel, named for the agent
    stereo = ffmpeg_decode(tmp_path / "out" / FOLDER / "stereo.flac", 2)
    np.testing.assert_array_equal(stereo[:, 0], cust)
    assert not stereo[:, 1].any()
    (q,) = manifest["quarantine"]
    assert q["key"] == FOLDER + "quarantine/ChimeVoiceConnector-vc1-2/2.mkv"
    assert q["error"] == "EBML element too large"
    assert (tmp_path / "out" / q["key"]).read_bytes() == raw.read_bytes()
    assert q["sha256"] == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert q["key"] in {o["key"] for o in manifest["objects"]}
    assert store.get_tags(q["key"])["Participant"] == "agent"  # type: ignore[index]
    agent_entry = next(p for p in manifest["participants"] if p["label"] == "2")
    assert agent_entry["key"] is None and agent_entry["decode_error"] == "EBML element too large"
    jsonschema.Draft202012Validator(SCHEMA).validate(manifest)


def test_no_audio_at_all_writes_no_audio_file_and_says_so(tmp_path: Path) -> None:
    parties = [party("1", None, role="customer"), party("2", None, role="agent")]
    store = DirectoryStore(tmp_path / "out")
    manifest = build_recording(
        call(["1", "2"], interaction_id=None), parties, store, OutputOptions()
    )
    assert manifest["stereo"] is None and manifest["one_way"]["missing"] == ["1", "2"]
    folder = tmp_path / f"out/recordings/2026/11/26/{TXID}/{TXID}"
    assert not list(folder.glob("*.wav"))
    assert "Genesys-Interaction-ID" not in manifest["tags"]


def _valid_manifest(tmp_path: Path) -> dict:
    parties, _, _ = _parties(tmp_path)
    return build_recording(
        call(["1", "2"]), parties, DirectoryStore(tmp_path / "m"), OutputOptions()
    )


def test_broken_manifests_are_refused(tmp_path: Path) -> None:
    good = _valid_manifest(tmp_path)
    validate_manifest(good)
    breakages = [
        lambda m: m.pop("participants"),
        lambda m: m["participants"][0].update(role="supervisor"),
        lambda m: m["objects"][0].update(sha256="nothex"),
        lambda m: m.update(start_time="yesterday"),
        lambda m: m["tags"].update(Participant="a#b"),
        lambda m: m.update(extra_field=1),
    ]
    for breakage in breakages:
        broken = json.loads(json.dumps(good))
        breakage(broken)
        with pytest.raises(StorageError, match="manifest invalid"):
            validate_manifest(broken)
        with pytest.raises(jsonschema.ValidationError):  # the schema itself agrees
            jsonschema.Draft202012Validator(SCHEMA).validate(broken)


def test_without_jsonschema_top_level_is_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _valid_manifest(tmp_path)
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import now fails
    validate_manifest(good)
    broken: Mapping[str, object] = {k: v for k, v in good.items() if k != "objects"}
    with pytest.raises(StorageError, match="'objects' is a required property"):
        validate_manifest(broken)
    with pytest.raises(StorageError, match="participants"):
        validate_manifest({**good, "participants": "none"})


def test_bad_participants_are_refused_before_any_object_is_written(tmp_path: Path) -> None:
    parties, _, _ = _parties(tmp_path)
    parties[1].role = "supervisor"
    store = DirectoryStore(tmp_path / "out")
    with pytest.raises(MetadataError, match="role 'supervisor'"):
        build_recording(call(["1", "2"]), parties, store, OutputOptions())
    parties[1].role, parties[0].label = "agent", "x" * 300
    with pytest.raises(MetadataError, match="label of 300 characters"):
        build_recording(call(["1", "2"]), parties, store, OutputOptions())
    assert not (tmp_path / "out").exists()
