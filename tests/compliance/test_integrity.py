"""Manifest digests and the KMS signature: every kind of tampering is named, nothing else is."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from siprec_recorder.aws.kms_signer import KmsSigner, KmsVerifier
from siprec_recorder.recording.integrity import (
    SIGNATURE_NAME,
    check_recording,
    parse_signature,
    sign_manifest,
)
from tests.compliance.fixtures import PREFIX, make_recording


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def new_key(kms: Any) -> str:
    meta = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]
    return str(meta["KeyId"])


@pytest.fixture
def signed(tmp_path: Path, kms: Any) -> tuple[Path, str]:
    root = tmp_path / "rec"
    make_recording(root)
    key_id = new_key(kms)
    sig = sign_manifest((root / "manifest.json").read_bytes(), KmsSigner(key_id, kms))
    (root / SIGNATURE_NAME).write_bytes(sig)
    return root, key_id


def test_untouched_recording_has_no_problems_and_a_valid_signature(signed, kms) -> None:
    root, key_id = signed
    result = check_recording(root, verifier=KmsVerifier(kms), trusted_key_ids=[key_id])
    assert result.problems == []
    assert result.signature_valid is True
    assert result.objects_checked == 3


def problems_of(root: Path, kms: Any = None, trusted: list[str] | None = None) -> list[Any]:
    verifier = KmsVerifier(kms) if kms is not None else None
    return check_recording(root, verifier=verifier, trusted_key_ids=trusted or []).problems


def test_signature_file_names_key_algorithm_and_the_manifest_digest(signed) -> None:
    root, key_id = signed
    doc = json.loads((root / SIGNATURE_NAME).read_bytes())
    assert doc["key_id"] == key_id
    assert doc["algorithm"] == "ECDSA_SHA_256"
    assert (
        doc["manifest_sha256"] == hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()
    )
    # a DER-encoded ECDSA P-256 signature: SEQUENCE of two INTEGERs, 70-72 bytes
    der = base64.b64decode(doc["signature"])
    assert der[0] == 0x30 and 8 <= len(der) <= 72


def test_changed_byte_is_named_with_both_digests(signed, kms) -> None:
    root, key_id = signed
    path = root / "agent-1.wav"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0x01
    path.write_bytes(bytes(data))
    problems = problems_of(root, kms, [key_id])
    assert [p.key for p in problems] == [PREFIX + "agent-1.wav"]
    assert "sha256 is " + hashlib.sha256(bytes(data)).hexdigest() in problems[0].what
    assert "size" not in problems[0].what  # same length: only the digest differs


def test_missing_object(signed, kms) -> None:
    root, key_id = signed
    (root / "stereo.wav").unlink()
    problems = problems_of(root, kms, [key_id])
    assert [(p.key, p.what.split(":")[0]) for p in problems] == [(PREFIX + "stereo.wav", "missing")]


def test_extra_object_even_in_a_subfolder(signed, kms) -> None:
    root, key_id = signed
    (root / "later").mkdir()
    (root / "later" / "inserted.wav").write_bytes(b"RIFF")
    problems = problems_of(root, kms, [key_id])
    assert [(p.key, p.what.split(":")[0]) for p in problems] == [("later/inserted.wav", "extra")]


def test_tags_sidecar_of_a_listed_object_is_not_extra(signed, kms) -> None:
    root, key_id = signed
    (root / "stereo.wav.tags.json").write_text("{}")
    assert problems_of(root, kms, [key_id]) == []


def test_consistently_tampered_manifest_is_caught_by_the_signature(signed, kms) -> None:
    """Swap audio and update its size+digest in the manifest: only the signature can tell."""
    root, key_id = signed
    (root / "agent-1.wav").write_bytes((root / "customer-0.wav").read_bytes())
    manifest = json.loads((root / "manifest.json").read_bytes())
    for obj in manifest["objects"]:
        if obj["key"].endswith("agent-1.wav"):
            raw = (root / "agent-1.wav").read_bytes()
            obj["bytes"], obj["sha256"] = len(raw), hashlib.sha256(raw).hexdigest()
            obj["sha512"] = hashlib.sha512(raw).hexdigest()
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    problems = problems_of(root, kms, [key_id])
    keys = sorted(p.key for p in problems)
    assert keys == ["manifest.json", SIGNATURE_NAME]
    assert any("changed after signing" in p.what for p in problems)
    assert any("does not verify" in p.what for p in problems)


def test_bad_signature_bytes(signed, kms) -> None:
    root, key_id = signed
    doc = json.loads((root / SIGNATURE_NAME).read_bytes())
    sig = bytearray(base64.b64decode(doc["signature"]))
    sig[-1] ^= 0x55
    doc["signature"] = base64.b64encode(bytes(sig)).decode()
    (root / SIGNATURE_NAME).write_text(json.dumps(doc))
    result = check_recording(root, verifier=KmsVerifier(kms), trusted_key_ids=[key_id])
    assert result.signature_valid is False
    assert [p.key for p in result.problems] == [SIGNATURE_NAME]


def test_signature_by_another_key_is_untrusted(tmp_path: Path, kms) -> None:
    root = tmp_path / "rec"
    make_recording(root)
    trusted, other = new_key(kms), new_key(kms)
    sig = sign_manifest((root / "manifest.json").read_bytes(), KmsSigner(other, kms))
    (root / SIGNATURE_NAME).write_bytes(sig)
    result = check_recording(root, verifier=KmsVerifier(kms), trusted_key_ids=[trusted])
    assert result.signature_valid is False
    (problem,) = result.problems
    assert problem.key == SIGNATURE_NAME and "does not verify" in problem.what
    assert other in problem.what


def test_a_key_aliased_to_look_like_the_trusted_one_proves_nothing(tmp_path: Path, kms) -> None:
    """An alias whose name ends with the trusted key's id (alias/x/<trusted id>) on another
    key: the signature is checked with the trusted key itself, so it fails."""
    root = tmp_path / "rec"
    make_recording(root)
    trusted, other = new_key(kms), new_key(kms)
    kms.create_alias(AliasName=f"alias/x/{trusted}", TargetKeyId=other)
    sig = sign_manifest((root / "manifest.json").read_bytes(), KmsSigner(f"alias/x/{trusted}", kms))
    (root / SIGNATURE_NAME).write_bytes(sig)
    result = check_recording(root, verifier=KmsVerifier(kms), trusted_key_ids=[trusted])
    assert result.signature_valid is False and result.problems


def test_a_valid_signature_without_a_trusted_key_is_not_reported_valid(signed, kms) -> None:
    root, _key_id = signed
    result = check_recording(root, verifier=KmsVerifier(kms))
    assert result.problems == [] and result.signature_valid is None
    assert any("no trusted signing key" in note for note in result.notes)
    strict = check_recording(root, verifier=KmsVerifier(kms), require_signature=True)
    assert [p.key for p in strict.problems] == [SIGNATURE_NAME]


def test_a_removed_signature_fails_when_a_key_is_trusted(signed, kms) -> None:
    root, key_id = signed
    (root / SIGNATURE_NAME).unlink()
    result = check_recording(root, verifier=KmsVerifier(kms), trusted_key_ids=[key_id])
    assert [p.key for p in result.problems] == [SIGNATURE_NAME]
    assert "absent" in result.problems[0].what


def test_an_object_moved_within_the_folder_is_missing_and_extra(signed, kms) -> None:
    root, key_id = signed
    (root / "elsewhere").mkdir()
    (root / "agent-1.wav").rename(root / "elsewhere" / "agent-1.wav")
    problems = problems_of(root, kms, [key_id])
    assert sorted((p.key, p.what.split(":")[0]) for p in problems) == [
        ("elsewhere/agent-1.wav", "extra"),
        (PREFIX + "agent-1.wav", "missing"),
    ]


def test_the_sha512_is_checked_too(tmp_path: Path) -> None:
    """The vCon's content_hash is the manifest's sha512: a wrong one is a problem, even when
    the sha256 matches."""
    root = tmp_path / "rec"
    make_recording(root)
    manifest = json.loads((root / "manifest.json").read_bytes())
    entry = next(o for o in manifest["objects"] if o["key"].endswith("stereo.wav"))
    entry["sha512"] = hashlib.sha512((root / "stereo.wav").read_bytes()).hexdigest()
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert problems_of(root) == []
    entry["sha512"] = "0" * 128
    (root / "manifest.json").write_text(json.dumps(manifest))
    problems = problems_of(root)
    assert [(p.key, p.what) for p in problems] == [
        (PREFIX + "stereo.wav", "sha512 does not match the manifest")
    ]


def test_unsigned_recording_is_a_note_unless_a_signature_is_required(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    make_recording(root)
    relaxed = check_recording(root)
    assert relaxed.problems == [] and relaxed.signature_valid is None
    assert relaxed.notes == [
        f"signature not checked: {SIGNATURE_NAME} is absent (recording not signed)"
    ]
    strict = check_recording(root, require_signature=True)
    assert [p.key for p in strict.problems] == [SIGNATURE_NAME]


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"key_id": "k"}',
        json.dumps(
            {
                "key_id": "k",
                "algorithm": "ECDSA_SHA_256",
                "manifest_sha256": "0" * 64,
                "signature": "***",
            }
        ).encode(),
        b"{" * 70000,
        b"[" * 60000,
    ],
)
def test_hostile_signature_files_are_refused_with_a_short_reason(content: bytes) -> None:
    with pytest.raises(ValueError) as info:
        parse_signature(content)
    assert len(str(info.value)) < 120


def test_hostile_manifest_entries(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    make_recording(root)
    manifest = json.loads((root / "manifest.json").read_bytes())
    manifest["objects"] += [
        {"key": "../../etc/passwd", "bytes": 1, "sha256": "0" * 64},
        {"key": "x.wav", "bytes": -1, "sha256": "0" * 64},
        {"key": "y.wav", "bytes": 1, "sha256": "nothex"},
        "not an object",
    ]
    (root / "manifest.json").write_text(json.dumps(manifest))
    problems = problems_of(root)
    assert [p.key for p in problems] == ["objects[3]", "objects[4]", "objects[5]", "objects[6]"]
    assert "safe" in problems[0].what


def test_missing_or_broken_manifest(tmp_path: Path) -> None:
    assert [str(p) for p in problems_of(tmp_path)] == ["manifest.json: missing"]
    (tmp_path / "manifest.json").write_text("{oops")
    assert problems_of(tmp_path)[0].what.startswith("not JSON")
    (tmp_path / "manifest.json").write_text("[" * 200_000)
    assert problems_of(tmp_path)[0].what == "not JSON (RecursionError)"


def test_a_symlinked_folder_is_never_followed_out_of_the_recording(tmp_path: Path) -> None:
    """A manifest entry reaching a file through a symlinked folder: not read (its digest
    would tell the checker about a file outside the recording)."""
    root = tmp_path / "rec"
    make_recording(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not yours")
    (root / "sub").symlink_to(outside, target_is_directory=True)
    manifest = json.loads((root / "manifest.json").read_bytes())
    raw = b"not yours"
    manifest["objects"].append(
        {
            "key": PREFIX + "sub/secret.txt",
            "bytes": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
    )
    (root / "manifest.json").write_text(json.dumps(manifest))
    problems = problems_of(root)
    assert sorted((p.key, p.what.split(":")[0]) for p in problems) == [
        (PREFIX + "sub/secret.txt", "missing"),
        ("sub", "extra"),
    ]


def test_a_symlinked_manifest_or_signature_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    make_recording(root)
    elsewhere = tmp_path / "elsewhere.json"
    (root / "manifest.json").rename(elsewhere)
    (root / "manifest.json").symlink_to(elsewhere)
    assert [p.what for p in problems_of(root)] == ["is a symbolic link, not the recording's"]
    (root / "manifest.json").unlink()
    elsewhere.rename(root / "manifest.json")
    (root / SIGNATURE_NAME).symlink_to(elsewhere.with_suffix(".sig"))
    assert [(p.key, p.what) for p in problems_of(root)] == [(SIGNATURE_NAME, "not a regular file")]


def test_hostile_manifest_values_are_problems_not_crashes(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    make_recording(root)
    (root / "manifest.json").write_text('{"objects": [], "n": ' + "9" * 5000 + "}")
    assert [p.what for p in problems_of(root)] == ["not JSON (ValueError)"]
    manifest = {"objects": [{"key": PREFIX + "a\ud800b", "bytes": 1, "sha256": "0" * 64}]}
    (root / "manifest.json").write_text(json.dumps(manifest))
    problems = problems_of(root)
    assert (PREFIX + "a\ud800b", "missing") in [(p.key, p.what.split(":")[0]) for p in problems]


def test_an_object_listed_twice_is_a_problem(tmp_path: Path) -> None:
    """A manifest that lists one file twice (and so can hide that another is missing from the
    list) is not a valid inventory of the recording."""
    root = tmp_path / "rec"
    manifest = make_recording(root)
    doc = json.loads((root / "manifest.json").read_text())
    doc["objects"].append(dict(doc["objects"][0]))
    (root / "manifest.json").write_text(json.dumps(doc))
    found = [(p.key, p.what) for p in problems_of(root)]
    assert (manifest["objects"][0]["key"], "listed twice") in found


def test_a_signature_kms_could_not_check_is_a_failure_when_a_key_is_trusted(signed) -> None:
    """KMS unreachable (no network, throttled): the signature is not known to be valid. With a
    trusted key (or --require-signature) that is a failure, not a note."""
    from siprec_recorder.recording.integrity import SignatureUnchecked

    root, key_id = signed

    class Unreachable:
        def verify(self, digest: bytes, signature: bytes, key_id: str, algorithm: str) -> bool:
            raise SignatureUnchecked("KMS unreachable: EndpointConnectionError")

    required = check_recording(
        root, verifier=Unreachable(), trusted_key_ids=[key_id], require_signature=True
    )
    assert [(p.key, p.what) for p in required.problems] == [
        (
            SIGNATURE_NAME,
            "signature required, not checked: KMS unreachable: EndpointConnectionError",
        )
    ]
    trusted_only = check_recording(root, verifier=Unreachable(), trusted_key_ids=[key_id])
    assert trusted_only.problems == required.problems and trusted_only.signature_valid is not True


def test_a_json_file_without_an_objects_list_is_not_a_manifest(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    make_recording(root)
    (root / "manifest.json").write_text(json.dumps({"transaction_id": "tx"}))
    found = [(p.key, p.what) for p in problems_of(root)]
    assert ("manifest.json", "not a manifest: no 'objects' list") in found
