"""Decoding past damaged media: finding the next fragment and splicing its audio on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siprec_recorder.media.decode import TrackResult
from siprec_recorder.media.pcm import PcmSpool
from siprec_recorder.pipeline.resync import CHUNK, MAGIC, next_fragment, splice

RATE = 8000


def test_the_next_fragment_header_is_found_even_across_read_boundaries(tmp_path: Path) -> None:
    first, straddling = 100, CHUNK + 100 - 2  # the second header spans two 1 MiB reads
    data = bytearray(b"\x00" * (CHUNK + 400))
    data[first : first + 4] = MAGIC
    data[straddling : straddling + 4] = MAGIC
    raw = tmp_path / "raw.mkv"
    raw.write_bytes(bytes(data))
    assert next_fragment(raw, -1) == first
    assert next_fragment(raw, first) == straddling
    assert next_fragment(raw, straddling) is None


def track(tmp_path: Path, start_s: float, samples: np.ndarray, rate: int = RATE) -> TrackResult:
    spool = PcmSpool(rate, tmp_path)
    spool.append(samples.astype(np.int16))
    return TrackResult(
        1, "AUDIO", "A_PCM/INT/LIT", rate, 1, frames=len(samples) // 160,
        samples=len(samples), start_ns=int(start_s * 1e9), pcm=spool,
    )  # fmt: skip


def test_a_later_part_is_placed_at_its_time_after_a_counted_gap(tmp_path: Path) -> None:
    a = np.arange(1, RATE + 1, dtype=np.int16)  # 1 s from t=10 s
    b = -np.arange(1, RATE // 2 + 1, dtype=np.int16)  # 0.5 s from t=11.5 s
    base = track(tmp_path, 10.0, a)
    assert splice(base, track(tmp_path, 11.5, b))
    assert base.pcm is not None
    got = base.pcm.read_all()
    np.testing.assert_array_equal(got, np.concatenate([a, np.zeros(RATE // 2, np.int16), b]))
    assert (base.gaps, base.gap_ms, base.samples) == (1, 500.0, 2 * RATE)


def test_an_overlapping_part_keeps_the_earlier_audio(tmp_path: Path) -> None:
    a = np.arange(1, RATE + 1, dtype=np.int16)
    b = -np.arange(1, RATE + 1, dtype=np.int16)  # starts 0.25 s before a ends
    base = track(tmp_path, 0.0, a)
    assert splice(base, track(tmp_path, 0.75, b))
    assert base.pcm is not None
    np.testing.assert_array_equal(base.pcm.read_all(), np.concatenate([a, b[RATE // 4 :]]))
    assert base.overlaps == 1


def test_a_part_at_another_rate_is_not_spliced(tmp_path: Path) -> None:
    base = track(tmp_path, 0.0, np.ones(RATE, np.int16))
    other = track(tmp_path, 2.0, np.ones(16000, np.int16), rate=16000)
    assert not splice(base, other)
    assert base.pcm is not None and base.pcm.samples == RATE


def test_a_part_past_the_timelines_gap_limit_is_not_spliced(tmp_path: Path) -> None:
    """The decoder refuses gaps over 6 hours; a resumed part must not get around that (a
    damaged fragment followed by one stamped 7 hours on would write 7 hours of silence)."""
    base = track(tmp_path, 0.0, np.ones(RATE, np.int16))
    later = track(tmp_path, 1.0 + 7 * 3600, np.ones(RATE, np.int16))
    assert not splice(base, later)
    assert base.pcm is not None and base.pcm.samples == RATE and base.gaps == 0
