"""Property tests: any offsets/lengths/windows align exactly; any text gives safe keys and tags."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from siprec_recorder.recording.assemble import layout_call, stereo_windows
from siprec_recorder.recording.keys import safe_segment
from siprec_recorder.recording.tags import sanitize_tag_value
from tests.recording.support import RATE, T0_NS, party, spool, tone

S3_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+\-@]{0,256}$")


@settings(max_examples=40, deadline=None)
@given(
    starts=st.lists(st.integers(0, 3_000_000_000), min_size=1, max_size=3),
    lengths=st.lists(st.integers(1, 20_000), min_size=3, max_size=3),
    window_blocks=st.integers(1, 60),
)
def test_any_offsets_and_windows_align_exactly(
    starts: list[int], lengths: list[int], window_blocks: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        roles = ["customer", "agent", "customer"]  # the third one mixes into the left
        data = [tone(n, seed=i) for i, n in enumerate(lengths[: len(starts)])]
        parties = [
            party(str(i + 1), spool(x, Path(tmp)), T0_NS + s, role=roles[i])
            for i, (x, s) in enumerate(zip(data, starts, strict=True))
        ]
        t0 = min(starts)
        offsets = [int(np.floor((s - t0) * RATE / 1e9 + 0.5)) for s in starts]
        total = max(o + len(x) for o, x in zip(offsets, data, strict=True))
        acc = np.zeros((total, 2), np.int64)
        for i, (o, x) in enumerate(zip(offsets, data, strict=True)):
            channel = 0 if roles[i] == "customer" else 1
            acc[o : o + len(x), channel] += x
        expected = np.clip(acc, -32768, 32767).astype(np.int16)
        layout = layout_call(parties)
        got = np.concatenate(list(stereo_windows(layout, window_blocks * 160)))
        np.testing.assert_array_equal(got, expected)
        for p in parties:
            assert p.pcm is not None
            p.pcm.close()


@given(st.text(max_size=400))
def test_any_text_gives_a_safe_key_segment(value: str) -> None:
    seg = safe_segment(value)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", seg) and seg not in (".", "..")


@given(st.text(max_size=400))
def test_any_text_sanitises_to_the_s3_tag_alphabet(value: str) -> None:
    assert S3_TAG_VALUE.match(sanitize_tag_value(value))
