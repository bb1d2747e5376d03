"""WavSpool writes a new file: what stood at its path before is replaced, never written into."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from siprec_recorder.media.wav import WavSpool


def test_an_existing_file_is_replaced_not_overwritten(tmp_path: Path) -> None:
    old = tmp_path / "old.bin"
    old.write_bytes(b"keep me" * 1000)
    path = tmp_path / "a.wav"
    os.link(old, path)  # another name for the same content: it must survive
    samples = np.arange(-500, 500, dtype=np.int16)
    with WavSpool(8000, path) as spool:
        spool.append(samples)
    assert old.read_bytes() == b"keep me" * 1000
    with wave.open(str(path)) as w:  # the stdlib reader is the independent check
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert np.array_equal(np.frombuffer(w.readframes(w.getnframes()), "<i2"), samples)
