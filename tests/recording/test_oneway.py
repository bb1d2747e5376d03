"""One-way audio: never started, zero frames, (near) silence most of the call, and real speech."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from siprec_recorder.recording.assemble import LevelMeter, block_size, layout_call, mono_windows
from siprec_recorder.recording.model import PartyAudio
from siprec_recorder.recording.oneway import detect_one_way
from tests.recording.support import RATE, party, spool, tone

SECONDS = 100


def _judge(parties: list[PartyAudio], declared: list[str]) -> dict | None:
    layout = layout_call(parties)
    meters: dict[str, LevelMeter] = {}
    for track in layout.tracks:
        meter = meters[track.party.label] = LevelMeter(RATE)
        for w in mono_windows(track.pcm, 8000):
            meter.feed(w)
    blocks = math.ceil(layout.total_samples / block_size(RATE))
    return detect_one_way(declared, parties, meters, blocks, 0.95)


def _speech_for(fraction: float, seed: int, floor: np.ndarray | None = None) -> np.ndarray:
    """SECONDS of audio: noise at about -20 dBFS for `fraction` of it, the rest `floor`/zeros."""
    n = SECONDS * RATE
    x = np.zeros(n, np.int16) if floor is None else floor.copy()
    talk = int(n * fraction)
    x[:talk] = tone(talk, seed=seed, amp=3000)
    return x


def test_two_talking_parties_are_not_one_way(tmp_path: Path) -> None:
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    b = party("2", spool(_speech_for(0.5, 2), tmp_path), role="agent")  # talks half the call
    assert _judge([a, b], ["1", "2"]) is None


def test_stream_that_never_started(tmp_path: Path) -> None:
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    b = party("2", None, role="agent")
    result = _judge([a, b], ["1", "2"])
    assert result is not None
    assert result["missing"] == ["2"] and result["arrived"] == ["1"]
    assert result["declared"] == ["1", "2"] and "never started" in result["reason"]


def test_declared_label_with_no_party_at_all(tmp_path: Path) -> None:
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    result = _judge([a], ["1", "2"])
    assert result is not None and result["missing"] == ["2"]


def test_stream_with_zero_frames(tmp_path: Path) -> None:
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    empty = spool(np.zeros(0, np.int16), tmp_path)
    b = party("2", empty, role="agent", frames=0)
    result = _judge([a, b], ["1", "2"])
    assert result is not None and result["missing"] == ["2"]
    assert "no frames" in result["reason"]


def test_digital_silence_96_percent_is_one_way(tmp_path: Path) -> None:
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    b = party("2", spool(_speech_for(0.04, 2), tmp_path), role="agent")
    result = _judge([a, b], ["1", "2"])
    assert result is not None and result["missing"] == ["2"]
    (detail,) = result["details"]
    assert abs(detail["silent_fraction"] - 0.96) < 0.001
    assert result["arrived"] == ["1", "2"]  # it arrived, it just carried no sound


def test_near_silence_noise_floor_counts_as_silence(tmp_path: Path) -> None:
    # a noise floor around -75 dBFS (RMS ~6 of 32768) is below the -60 dBFS activity threshold
    floor = tone(SECONDS * RATE, seed=9, amp=6)
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    b = party("2", spool(_speech_for(0.03, 2, floor=floor), tmp_path), role="agent")
    result = _judge([a, b], ["1", "2"])
    assert result is not None and result["missing"] == ["2"]


def test_party_heard_for_only_a_short_part_of_a_long_call_is_one_way(tmp_path: Path) -> None:
    # talks for its whole stream, but the stream covers 3 s of a 100 s call
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    b = party("2", spool(tone(3 * RATE, seed=3, amp=3000), tmp_path), role="agent")
    result = _judge([a, b], ["1", "2"])
    assert result is not None and result["missing"] == ["2"]


def test_without_declared_labels_the_arrived_parties_are_judged(tmp_path: Path) -> None:
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    b = party("2", spool(np.zeros(SECONDS * RATE, np.int16), tmp_path), role="agent")
    result = _judge([a, b], [])
    assert result is not None and result["missing"] == ["2"]
    assert result["declared"] == ["1", "2"]


def _square(dbfs: float) -> np.ndarray:
    """SECONDS of a +-A square wave: its RMS is exactly A, so its level is 20 log10(A / 32768)
    (rounded to a whole sample value; the level is checked below)."""
    amplitude = round(32768 * 10 ** (dbfs / 20))
    assert abs(20 * math.log10(amplitude / 32768) - dbfs) < 0.2
    return np.where(np.arange(SECONDS * RATE) % 2 == 0, amplitude, -amplitude).astype(np.int16)


def test_the_silence_threshold_is_60_dbfs(tmp_path: Path) -> None:
    """Quiet is not silent: a party 3 dB above -60 dBFS the whole call is talking, 3 dB below
    is silent (one-way), and the reason names the threshold."""
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    above = party("2", spool(_square(-57.0), tmp_path), role="agent")
    assert _judge([a, above], ["1", "2"]) is None
    below = party("2", spool(_square(-63.0), tmp_path), role="agent")
    result = _judge([a, below], ["1", "2"])
    assert result is not None and result["missing"] == ["2"]
    assert "below -60 dBFS" in result["reason"]


def test_a_quiet_party_talking_half_the_call_is_not_one_way(tmp_path: Path) -> None:
    a = party("1", spool(_speech_for(1.0, 1), tmp_path), role="customer")
    quiet = _square(-40.0)
    quiet[len(quiet) // 2 :] = 0
    b = party("2", spool(quiet, tmp_path), role="agent")
    assert _judge([a, b], ["1", "2"]) is None
