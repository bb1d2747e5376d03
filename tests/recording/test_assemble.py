"""Alignment on absolute time, channel choice, mixing and levels, checked against numpy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from siprec_recorder.errors import MediaError
from siprec_recorder.recording.assemble import (
    LevelMeter,
    assign_channels,
    layout_call,
    mono_windows,
    stereo_windows,
    window_size,
)
from siprec_recorder.recording.encode import encode_windows
from tests.recording.support import RATE, T0_NS, ffmpeg_decode, party, spool, tone


def _expected_offset(start_ns: int, t0_ns: int) -> int:
    return int(math.floor((start_ns - t0_ns) * RATE / 1e9 + 0.5))


def test_stereo_aligns_parties_sample_for_sample(tmp_path: Path) -> None:
    cust = tone(37_123, 300.0, seed=1)
    agent = tone(30_000, 500.0, seed=2)
    cust_start = T0_NS + 1_250_070_000  # 10000.56 samples after the agent: rounds to 10001
    parties = [
        party("2", spool(agent, tmp_path), T0_NS, role="agent"),
        party("1", spool(cust, tmp_path), cust_start, role="customer"),
    ]
    off = _expected_offset(cust_start, T0_NS)
    assert off == 10_001
    total = max(off + len(cust), len(agent))
    expected = np.zeros((total, 2), dtype=np.int16)
    expected[off : off + len(cust), 0] = cust
    expected[: len(agent), 1] = agent

    layout = layout_call(parties)
    assert layout.t0_ns == T0_NS and layout.total_samples == total
    window = window_size(RATE, 0.5)  # many windows, boundaries inside both parties
    got = np.concatenate(list(stereo_windows(layout, window)))
    np.testing.assert_array_equal(got, expected)

    # the same through the WAV encoder, decoded by ffmpeg
    path = tmp_path / "stereo.wav"
    frames = encode_windows(
        path, stereo_windows(layout, window), channels=2, sample_rate=RATE, fmt="wav"
    )
    assert frames == total
    np.testing.assert_array_equal(ffmpeg_decode(path, 2), expected)


def test_mono_is_the_party_own_pcm_from_its_first_sample(tmp_path: Path) -> None:
    data = tone(25_001, seed=3)
    s = spool(data, tmp_path)
    got = np.concatenate(list(mono_windows(s, 4000)))
    np.testing.assert_array_equal(got, data)


def test_late_party_alone_still_starts_at_its_own_first_sample(tmp_path: Path) -> None:
    a = tone(8000, seed=4)
    parties = [party("1", spool(a, tmp_path), T0_NS + 3_000_000_000, role="customer")]
    layout = layout_call(parties)
    got = np.concatenate(list(stereo_windows(layout, 4000)))
    # t0 is the earliest first sample: a lone party starts at 0, the other channel is silent
    np.testing.assert_array_equal(got[:, 0], a)
    assert not got[:, 1].any()


def test_parties_on_one_side_are_mixed_with_clipping(tmp_path: Path) -> None:
    a = np.full(4000, 20_000, dtype=np.int16)
    b = np.concatenate([np.full(2000, 20_000, np.int16), np.full(2000, -5_000, np.int16)])
    c = tone(4000, seed=5)
    parties = [
        party("1", spool(a, tmp_path), T0_NS, role="customer"),
        party("3", spool(b, tmp_path), T0_NS, role="unknown", is_caller=True),
        party("2", spool(c, tmp_path), T0_NS, role="agent"),
    ]
    layout = layout_call(parties)
    got = np.concatenate(list(stereo_windows(layout, 1600)))
    left = np.clip(a.astype(np.int64) + b, -32768, 32767)
    np.testing.assert_array_equal(got[:, 0], left)
    np.testing.assert_array_equal(got[:, 1], c)
    assert layout.left_labels == ["1", "3"] and layout.right_labels == ["2"]


def test_channel_choice_by_role_then_caller_then_label(tmp_path: Path) -> None:
    s = spool(tone(10), tmp_path)
    agent, cust = party("a", s, role="agent"), party("z", s, role="customer")
    left, right = assign_channels([agent, cust])
    assert [p.label for p in left] == ["z"] and [p.label for p in right] == ["a"]

    callee, caller = (
        party("1", s, role="unknown", is_caller=False),
        party("2", s, role="unknown", is_caller=True),
    )
    left, right = assign_channels([callee, caller])
    assert [p.label for p in left] == ["2"] and [p.label for p in right] == ["1"]

    x, y = party("b", s, role="unknown"), party("a", s, role="unknown")
    left, right = assign_channels([x, y])
    assert [p.label for p in left] == ["a"] and [p.label for p in right] == ["b"]

    # two parties both flagged customer never leave the right channel empty
    left, right = assign_channels([party("1", s), party("2", s)])
    assert len(left) == 1 and len(right) == 1


def test_missing_customer_names_its_silent_side(tmp_path: Path) -> None:
    agent = party("2", spool(tone(800), tmp_path), role="agent")
    missing = party("1", None, role="customer")
    layout = layout_call([missing, agent])
    assert layout.left_labels == ["1"] and layout.right_labels == ["2"]
    got = np.concatenate(list(stereo_windows(layout, 400)))
    assert not got[:, 0].any()


def test_level_meter_matches_numpy() -> None:
    x = tone(12_345, seed=6, amp=3000)
    meter = LevelMeter(RATE)
    for i in range(0, len(x), 1600):
        meter.feed(x[i : i + 1600])
    f = x.astype(np.float64)
    rms = 20 * math.log10(math.sqrt(np.mean(f * f)) / 32768)
    peak = 20 * math.log10(np.abs(f).max() / 32768)
    assert meter.rms_dbfs is not None and abs(meter.rms_dbfs - rms) < 0.01
    assert meter.peak_dbfs is not None and abs(meter.peak_dbfs - peak) < 0.01
    assert meter.blocks == math.ceil(len(x) / 160) and meter.active_blocks == meter.blocks

    silent = LevelMeter(RATE)
    silent.feed(np.zeros(1600, np.int16))
    assert silent.rms_dbfs is None and silent.peak_dbfs is None and silent.active_blocks == 0


def test_inconsistent_start_times_are_refused_before_writing(tmp_path: Path) -> None:
    s = spool(tone(800), tmp_path)
    two_days = 2 * 24 * 3600 * 1_000_000_000
    parties = [party("1", s, T0_NS, role="customer"), party("2", s, T0_NS + two_days, "agent")]
    with pytest.raises(MediaError, match="call timeline spans 48.0 h"):
        layout_call(parties)
