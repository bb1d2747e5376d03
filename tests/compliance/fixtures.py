"""A small recording folder built directly (manifest.json + WAVs written with soundfile).

Digests here come from hashlib on the written bytes, independent of the code under test.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

RATE = 8000
TXID = "ec97a8ff-3f83-4de2-8d73-d988070f6af4"
PREFIX = f"recordings/2026/11/26/{TXID}/"


def tone(seconds: float, freq: float, amp: float, *, start_silence: float = 0.0) -> np.ndarray:
    """A sine burst pattern (1 s on, 0.5 s off) so levels vary over time."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    x = amp * np.sin(2 * np.pi * freq * t)
    x[(t % 1.5) >= 1.0] = 0.0
    x[t < start_silence] = 0.0
    pcm = (x * 32767).astype(np.int16)
    quiet = pcm == 0
    pcm[quiet] = np.where(np.arange(n)[quiet] % 2, 1, -1)  # pauses: -90 dBFS noise, not zero
    return pcm


GAP = (2.0, 2.3)  # seconds of the customer track lost in transit: filled with digital zero


def make_recording(root: Path, *, one_way: bool = False, seconds: float = 6.0) -> dict[str, Any]:
    """Write caller/agent mono WAVs, a stereo WAV and manifest.json; return the manifest."""
    root.mkdir(parents=True, exist_ok=True)
    customer = tone(seconds, 440, 0.4)
    customer[int(GAP[0] * RATE) : int(GAP[1] * RATE)] = 0
    agent = np.zeros_like(customer) if one_way else tone(seconds, 660, 0.25, start_silence=0.5)
    files = {
        "customer-0.wav": customer,
        "agent-1.wav": agent,
        "stereo.wav": np.stack([customer, agent], axis=1),
    }
    objects = []
    for name, data in files.items():
        path = root / name
        sf.write(path, data, RATE, subtype="PCM_16")
        raw = path.read_bytes()
        objects.append(
            {
                "key": PREFIX + name,
                "bytes": len(raw),
                "sha256": hashlib.sha256(raw).hexdigest(),
                "content_type": "audio/wav",
            }
        )
    n = len(customer)
    manifest: dict[str, Any] = {
        "transaction_id": TXID,
        "call_id": "089b1d79-d4ca-4f74-b36b-681f606937f6",
        "voice_connector_id": "bfggco08s5m5esgxfskzks",
        "interaction_id": "7f9e8d6c-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
        "interaction_id_source": "x-inin-cnv header",
        "start_time": "2026-11-26T07:00:00.000Z",
        "end_time": "2026-11-26T07:00:06.000Z",
        "format": "wav",
        "participants": [
            {
                "label": "0",
                "aor": "sip:+18155551212@198.51.100.7",
                "name": "Pat Caller",
                "role": "customer",
                "is_caller": True,
                "stream_arn": "arn:aws:kinesisvideo:x:1:stream/a/1",
                "key": PREFIX + "customer-0.wav",
                "samples": n,
                "start_time": "2026-11-26T07:00:00.000Z",
                "offset_samples": 0,
                "gaps": 1,
                "gap_ms": 300.0,
            },
            {
                "label": "1",
                "aor": "sip:agent.smith@example.mypurecloud.com",
                "name": "Agent Smith",
                "role": "agent",
                "is_caller": False,
                "stream_arn": "arn:aws:kinesisvideo:x:1:stream/b/1",
                "key": PREFIX + "agent-1.wav",
                "samples": n,
                "start_time": "2026-11-26T07:00:00.000Z",
                "offset_samples": 0,
                "gaps": 0,
                "gap_ms": 0.0,
            },
        ],
        "stereo": {"key": PREFIX + "stereo.wav", "left": "0", "right": "1", "samples": n},
        "objects": objects,
        "sample_rate": RATE,
        "audio_start_time": "2026-11-26T07:00:00.000Z",
        "one_way": {
            "missing": ["1"],
            "reason": "1: silent (below -60 dBFS) for 100% of the call",
            "declared": ["0", "1"],
            "arrived": ["0", "1"],
            "details": [{"label": "1", "reason": "silent", "silent_fraction": 1.0}],
        }
        if one_way
        else None,
        "timeline": [],
        "warnings": [],
    }
    (root / "manifest.json").write_bytes(json.dumps(manifest, indent=2).encode())
    return manifest
