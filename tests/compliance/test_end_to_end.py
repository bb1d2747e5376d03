"""A recording written by build_recording: vCon, report, signed manifest all check out together."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import jsonschema
import numpy as np
import pytest
from moto import mock_aws

from siprec_recorder.aws.kms_signer import KmsSigner
from siprec_recorder.cli import main
from siprec_recorder.media.pcm import PcmSpool
from siprec_recorder.metadata.model import Participant, RecordingMetadata
from siprec_recorder.recording.build import build_recording
from siprec_recorder.recording.model import CallFacts, OutputOptions, PartyAudio
from siprec_recorder.recording.store import DirectoryStore
from siprec_recorder.recording.timeline import build_timeline
from siprec_recorder.recording.vcon import load_vcon_schema
from tests.conftest import SIPREC_CORPUS

RATE = 8000
T0 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
T0_NS = int(T0.timestamp()) * 1_000_000_000


def party(label: str, pid: str, role: str, samples: np.ndarray, tmp: Path) -> PartyAudio:
    pcm = PcmSpool(RATE, directory=tmp)
    pcm.append(samples)
    return PartyAudio(
        label=label,
        participant_id=pid,
        aor=f"sip:{pid}@example.com",
        name=None,
        role=role,
        is_caller=role == "customer",
        stream_arn=f"arn:aws:kinesisvideo:x:1:stream/s{label}/1",
        media_index=int(label),
        pcm=pcm,
        start_ns=T0_NS,
        frames=samples.size // 160,
    )


def test_built_recording_verifies_and_its_vcon_and_report_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    rng = np.random.default_rng(7)
    n = RATE * 3
    snaps = [
        (
            T0,
            RecordingMetadata(
                format="rfc7865",
                data_mode="complete",
                participants=(
                    Participant("cust", "sip:cust@example.com", sends=("0",)),
                    Participant("agent-a", "sip:agent-a@example.com", sends=("1",)),
                ),
            ),
        ),
        (
            T0.replace(second=1),
            RecordingMetadata(
                format="rfc7865",
                data_mode="partial",
                participants=(
                    Participant("agent-a", disassociate_time="2026-11-26T07:00:01Z"),
                    Participant("agent-b", "sip:agent-b@example.com", sends=("1",)),
                ),
            ),
        ),
    ]
    call = CallFacts(
        transaction_id="tx-e2e",
        call_id="c1",
        voice_connector_id="vc1",
        interaction_id="3b2f0c0e-7d1a-4a63-9a57-0f0e1d2c3b4a",
        interaction_id_source="x-genesys-interactionid",
        call_ids={},
        start_time=T0,
        end_time=T0.replace(second=3),
        declared_labels=["0", "1"],
        siprec_xml=sorted(SIPREC_CORPUS.glob("*.xml"))[0].read_text(),
        timeline=build_timeline(snaps, T0.replace(second=3)),
    )
    parties = [
        party("0", "cust", "customer", (rng.normal(0, 3000, n)).astype(np.int16), tmp_path),
        party("1", "agent-b", "agent", (rng.normal(0, 3000, n)).astype(np.int16), tmp_path),
    ]
    with mock_aws():
        kms = boto3.client("kms")
        key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"][
            "KeyId"
        ]
        manifest = build_recording(
            call,
            parties,
            DirectoryStore(tmp_path / "out"),
            OutputOptions(fmt="flac", report=True, signer=KmsSigner(key_id, kms)),
        )
        folder = tmp_path / "out" / manifest["vcon_key"].rsplit("/", 1)[0]
        assert main(["verify", str(folder), "--key-id", key_id, "--require-signature"]) == 0

    assert manifest["report_key"] and (tmp_path / "out" / manifest["report_key"]).is_file()
    vcon = json.loads((tmp_path / "out" / manifest["vcon_key"]).read_text())
    jsonschema.Draft202012Validator(load_vcon_schema()).validate(vcon)
    assert vcon["dialog"][0]["interaction_id"] == call.interaction_id
    for dialog in vcon["dialog"]:
        data = (folder / dialog["filename"]).read_bytes()
        hashes = dialog["content_hash"]
        tokens = dict(t.split("-", 1) for t in ([hashes] if isinstance(hashes, str) else hashes))
        # the draft's SHA-512 first, and the manifest's SHA-256 beside it
        assert set(tokens) == {"sha512", "sha256"}
        for algorithm, b64 in tokens.items():
            expected = hashlib.new(algorithm, data).digest()
            assert base64.urlsafe_b64decode(b64 + "==") == expected
        assert dialog["mediatype"] == "audio/flac"
    agent_dialog = next(d for d in vcon["dialog"] if d["filename"].startswith("agent"))
    names = {vcon["parties"][i]["sip"] for i in agent_dialog["parties"]}
    assert names == {"sip:agent-a@example.com", "sip:agent-b@example.com"}
