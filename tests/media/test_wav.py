"""WavSpool writes a new file: what stood at its path before is replaced, never written into."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

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


def test_appends_and_silence_land_in_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pieces = [rng.integers(-3000, 3000, n).astype(np.int16) for n in (7, 5000, 1, 300)]
    path = tmp_path / "o.wav"
    spool = WavSpool(8000, path)
    spool.append(pieces[0])
    spool.append_silence(1234)
    spool.append(pieces[1].tobytes())
    spool.append(bytearray(pieces[2].tobytes()))
    spool.append_silence(2)
    spool.append(memoryview(pieces[3].tobytes()))
    expected = np.concatenate(
        [pieces[0], np.zeros(1234, np.int16), pieces[1], pieces[2], np.zeros(2, np.int16)]
        + [pieces[3]]
    )
    assert spool.samples == expected.size
    assert np.array_equal(spool.read(5, 2000), expected[5:2005])  # waits for the writer
    spool.append(pieces[0])
    spool.close()
    with wave.open(str(path)) as w:
        got = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert np.array_equal(got, np.concatenate([expected, pieces[0]]))


class _FullDisk:
    """A file whose writes fail like a full disk."""

    def __init__(self, real: object) -> None:
        self.real = real

    def write(self, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_a_write_error_reaches_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "e.wav"
    spool = WavSpool(8000, path)
    spool._file = _FullDisk(spool._file)  # type: ignore[assignment]
    spool.append(np.ones(100, np.int16))
    with pytest.raises(OSError, match="No space left"):
        for _ in range(10):  # the writer thread fails; a later call raises it
            spool.append(np.ones(100, np.int16))
        spool.close()
    spool.discard()
    assert not path.exists()
