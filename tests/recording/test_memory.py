"""Flat memory on the output side: a 1-hour two-party call is written window by window."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np

from siprec_recorder.media.pcm import PcmSpool
from siprec_recorder.recording.build import build_recording
from siprec_recorder.recording.model import OutputOptions
from siprec_recorder.recording.store import DirectoryStore
from tests.recording.support import RATE, T0_NS, call, party, tone

HOUR = 3600 * RATE
LIMIT = 30 * 1024 * 1024


def _hour_spool(tmp: Path, seed: int) -> PcmSpool:
    s = PcmSpool(RATE, directory=tmp)
    minute = tone(60 * RATE, seed=seed, amp=3000)
    for _ in range(60):
        s.append(minute)
    return s


def test_one_hour_call_peak_memory_is_small(tmp_path: Path) -> None:
    a, b = _hour_spool(tmp_path, 1), _hour_spool(tmp_path, 2)
    parties = [
        party("1", a, T0_NS, role="customer"),
        party("2", b, T0_NS + 2_000_000_000, role="agent"),
    ]
    store = DirectoryStore(tmp_path / "out")
    tracemalloc.start()
    try:
        manifest = build_recording(call(["1", "2"]), parties, store, OutputOptions(fmt="wav"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the whole call as int16 stereo would be 4 bytes x 28.8 M samples = 115 MB
    print(f"tracemalloc peak {peak / 2**20:.1f} MiB")
    assert peak < LIMIT, f"peak {peak / 2**20:.1f} MiB"
    assert manifest["stereo"]["samples"] == HOUR + 2 * RATE
    stereo = tmp_path / "out" / manifest["stereo"]["key"]
    assert stereo.stat().st_size == 44 + 4 * (HOUR + 2 * RATE)
    # spot-check the far end of the file: the agent's last minute ends 2 s after the customer's
    with stereo.open("rb") as fh:
        fh.seek(44 + 4 * (HOUR - RATE))
        tail = np.frombuffer(fh.read(), dtype="<i2").reshape(-1, 2)
    minute_a, minute_b = tone(60 * RATE, seed=1, amp=3000), tone(60 * RATE, seed=2, amp=3000)
    np.testing.assert_array_equal(tail[:RATE, 0], minute_a[-RATE:])
    assert not tail[RATE:, 0].any()
    np.testing.assert_array_equal(tail[:, 1], minute_b[-3 * RATE :])
