"""Test helpers: spools from numpy arrays, parties, calls, and an ffmpeg decoder as the oracle."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from siprec_recorder.media.pcm import PcmSpool
from siprec_recorder.recording.model import CallFacts, PartyAudio

RATE = 8000
T0_NS = 1_764_140_400_000_000_000  # 2025-11-26T07:00:00Z
ARN = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/ChimeVoiceConnector-vc1-{}/1764140400000"


def tone(n: int, freq: float = 440.0, amp: float = 8000.0, seed: int | None = None) -> np.ndarray:
    """A sine (or, with a seed, white noise) of n int16 samples."""
    if seed is not None:
        rng = np.random.default_rng(seed)
        return np.clip(rng.normal(0, amp, n), -32768, 32767).astype(np.int16)
    return (np.sin(2 * np.pi * freq * np.arange(n) / RATE) * amp).astype(np.int16)


def spool(samples: np.ndarray, tmp: Path | None = None) -> PcmSpool:
    s = PcmSpool(RATE, directory=tmp)
    s.append(samples)
    return s


def party(
    label: str,
    pcm: PcmSpool | None,
    start_ns: int | None = T0_NS,
    role: str = "customer",
    is_caller: bool | None = None,
    frames: int | None = None,
) -> PartyAudio:
    return PartyAudio(
        label=label,
        participant_id=f"p-{label}",
        aor=f"sip:+1415555010{label[-1]}@carrier.example",
        name=f"Person {label}",
        role=role,
        is_caller=is_caller,
        stream_arn=ARN.format(label) if pcm is not None else None,
        media_index=None,
        pcm=pcm,
        start_ns=start_ns if pcm is not None else None,
        frames=(pcm.samples // 160 if pcm is not None else 0) if frames is None else frames,
    )


def call(
    labels: list[str],
    interaction_id: str | None = "0f8fad5b-d9cb-469f-a165-70867728950e",
    transaction_id: str = "8a3b1c2d-0000-4000-8000-00000000abcd",
) -> CallFacts:
    return CallFacts(
        transaction_id=transaction_id,
        call_id="6f1d2a3b-call@sbc.example",
        voice_connector_id="abcdefghijklmnop12345",
        interaction_id=interaction_id,
        interaction_id_source="x-genesys-interactionid" if interaction_id else None,
        call_ids={},
        start_time=datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
        end_time=datetime(2026, 11, 26, 7, 5, tzinfo=UTC),
        declared_labels=labels,
        warnings=[],
        siprec_xml=None,
        chime_events=[],
        timeline=[],
    )


def ffmpeg_decode(path: Path, channels: int) -> np.ndarray:
    """Decode any audio file with ffmpeg (independent of libsndfile) to int16 (n, channels)."""
    out = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            "-ac",
            str(channels),
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(out, dtype="<i2").reshape(-1, channels)


def ffprobe(path: Path) -> dict[str, str]:
    """The first stream's fields as ffprobe reports them."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-select_streams", "a:0", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
