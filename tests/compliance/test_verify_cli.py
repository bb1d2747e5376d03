"""`siprec-recorder verify` on a folder and on an S3 prefix (moto), with KMS (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from siprec_recorder.aws.kms_signer import KmsSigner
from siprec_recorder.cli import main
from siprec_recorder.recording.integrity import SIGNATURE_NAME, sign_manifest
from tests.compliance.fixtures import PREFIX, make_recording


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("SIGNING_KEY_ID", raising=False)
    with mock_aws():
        yield


def signed_recording(root: Path) -> str:
    make_recording(root)
    kms: Any = boto3.client("kms")
    key_id = str(
        kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]["KeyId"]
    )
    (root / SIGNATURE_NAME).write_bytes(
        sign_manifest((root / "manifest.json").read_bytes(), KmsSigner(key_id, kms))
    )
    return key_id


def test_folder_ok_then_tampered(tmp_path: Path, aws: None, capsys) -> None:
    root = tmp_path / "rec"
    key_id = signed_recording(root)
    assert main(["verify", str(root), "--key-id", key_id, "--require-signature"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [f"signature valid: key {key_id}", "OK: 3 object(s) match the manifest"]

    (root / "customer-0.wav").write_bytes((root / "customer-0.wav").read_bytes()[:-2])
    (root / "notes.txt").write_text("x")
    assert main(["verify", str(root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    mismatches = [line for line in lines if line.startswith("MISMATCH")]
    assert len(mismatches) == 3  # size, digest, extra: one finding per line
    assert any(line.startswith(f"MISMATCH {PREFIX}customer-0.wav: size is ") for line in mismatches)
    assert "MISMATCH notes.txt: extra: present but not listed in the manifest" in mismatches
    assert lines[-1].startswith("FAILED: 3 problem(s)")


def test_parent_folder_finds_the_one_manifest(tmp_path: Path, aws: None) -> None:
    signed_recording(tmp_path / "a" / "b")
    assert main(["verify", str(tmp_path / "a")]) == 0


def test_a_conversation_folder_with_two_sessions_asks_which_one(
    tmp_path: Path, aws: None, capsys
) -> None:
    """Two recordings below the folder (two sessions of one conversation): verify does not pick
    one and call the folder verified."""
    signed_recording(tmp_path / "conv" / "tx-a")
    signed_recording(tmp_path / "conv" / "tx-b")
    assert main(["verify", str(tmp_path / "conv")]) == 2
    assert "more than one manifest.json below the folder" in capsys.readouterr().err


def test_signing_key_id_from_the_environment_is_trusted_and_required(
    tmp_path: Path, aws: None, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGNING_KEY_ID (the deployment's key, as the Recorder has it) works like --key-id: the
    signature is checked with that key, and a recording without one fails."""
    root = tmp_path / "rec"
    key_id = signed_recording(root)
    monkeypatch.setenv("SIGNING_KEY_ID", key_id)
    assert main(["verify", str(root)]) == 0
    assert f"signature valid: key {key_id}" in capsys.readouterr().out
    (root / SIGNATURE_NAME).unlink()
    assert main(["verify", str(root)]) == 1
    # --no-kms checks digests only: the configured key does not make a signature required
    assert main(["verify", str(root), "--no-kms"]) == 0


def test_without_kms_says_signature_not_checked(tmp_path: Path, aws: None, capsys) -> None:
    root = tmp_path / "rec"
    signed_recording(root)
    assert main(["verify", str(root), "--no-kms"]) == 0
    out = capsys.readouterr().out
    assert "signature not checked: no verifier" in out
    assert main(["verify", str(root), "--no-kms", "--require-signature"]) == 1


def test_bad_input_exits_2(tmp_path: Path, aws: None, capsys) -> None:
    assert main(["verify", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["verify", str(tmp_path)]) == 2  # no manifest anywhere
    assert main(["verify", "s3://"]) == 2


def test_s3_prefix(tmp_path: Path, aws: None, capsys) -> None:
    root = tmp_path / "rec"
    key_id = signed_recording(root)
    s3: Any = boto3.client("s3")
    s3.create_bucket(Bucket="recs")
    for path in root.iterdir():
        s3.upload_file(str(path), "recs", PREFIX + path.name)
    url = f"s3://recs/{PREFIX}"
    assert main(["verify", url, "--key-id", key_id]) == 0
    assert "signature valid" in capsys.readouterr().out
    s3.put_object(Bucket="recs", Key=PREFIX + "smuggled.wav", Body=b"RIFF")
    assert main(["verify", url]) == 1
    assert "MISMATCH smuggled.wav: extra" in capsys.readouterr().out
    assert main(["verify", "s3://recs/nothing-here/"]) == 2
    # the whole signed recording copied under another call's folder: every object is intact
    # and the signature valid, but the keys say where it belongs
    other = PREFIX.rstrip("/").rsplit("/", 1)[0] + "/another-call/"
    for path in root.iterdir():
        s3.upload_file(str(path), "recs", other + path.name)
    assert main(["verify", f"s3://recs/{other}", "--key-id", key_id]) == 1
    assert f"not in the recording's folder {other}" in capsys.readouterr().out


def test_a_hostile_key_is_printed_escaped_on_one_line(tmp_path: Path, aws: None, capsys) -> None:
    import json

    root = tmp_path / "rec"
    make_recording(root)
    manifest = {"objects": [{"key": PREFIX + "a\ud800\u202eb\nc", "bytes": 1, "sha256": "0" * 64}]}
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert main(["verify", str(root), "--no-kms"]) == 1
    lines = capsys.readouterr().out.splitlines()
    (line,) = [x for x in lines if "no such file" in x]
    assert line.isprintable() and "\\ud800" in line
