"""Mono 16-bit PCM WAV from a PcmSpool, copied in bounded windows (memory stays flat)."""

from __future__ import annotations

import struct
from pathlib import Path

from siprec_recorder.media.pcm import PcmSpool

WINDOW = 1 << 20  # samples per copy


def wav_header(samples: int, sample_rate: int) -> bytes:
    """The 44-byte RIFF/WAVE header of mono 16-bit PCM."""
    data = samples * 2
    if data + 36 > 0xFFFFFFFF:
        raise ValueError("audio too long for a WAV file")
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data)
    )


def write_wav(spool: PcmSpool, path: Path) -> None:
    """Write the spool's samples to `path` as a WAV file."""
    with open(path, "wb") as f:
        f.write(wav_header(spool.samples, spool.sample_rate))
        for start in range(0, spool.samples, WINDOW):
            f.write(spool.read(start, min(WINDOW, spool.samples - start)).astype("<i2").tobytes())
