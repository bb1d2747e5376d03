"""Encoding PCM windows to WAV, FLAC or Ogg Opus files, incrementally and deterministically.

libsndfile (through soundfile) writes each window as it comes, so no file is ever held in memory.
WAV and FLAC output is byte-identical for identical input; libsndfile gives every Ogg stream a
random serial number, so Opus files get a fixed serial (and their page CRCs recomputed) after
writing, which makes re-running a call give the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from siprec_recorder.errors import MediaError, RecorderError

if TYPE_CHECKING:  # annotations only: the CLI reads SPECS without importing numpy
    import numpy as np
    import numpy.typing as npt

OGG_SERIAL = 0x5349_5052  # "SIPR": a fixed serial so Opus output is reproducible
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


@dataclass(frozen=True)
class FormatSpec:
    """How one output format is named, typed and written by libsndfile."""

    name: str
    ext: str
    content_type: str
    sf_format: str
    subtype: str


SPECS: dict[str, FormatSpec] = {
    "wav": FormatSpec("wav", "wav", "audio/wav", "WAV", "PCM_16"),
    "flac": FormatSpec("flac", "flac", "audio/flac", "FLAC", "PCM_16"),
    "opus": FormatSpec("opus", "opus", "audio/ogg", "OGG", "OPUS"),
}


def spec_for(fmt: str) -> FormatSpec:
    """The spec of `wav`, `flac` or `opus`; anything else is a configuration error."""
    spec = SPECS.get(fmt.lower())
    if spec is None:
        raise RecorderError(f"unknown output format {fmt[:20]!r} (wav, flac or opus)")
    return spec


def encode_windows(
    path: Path,
    windows: Iterable[npt.NDArray[np.int16]],
    *,
    channels: int,
    sample_rate: int,
    fmt: str,
    on_window: Callable[[npt.NDArray[np.int16]], None] | None = None,
) -> int:
    """Write int16 windows (shape (n,) or (n, channels)) to `path`; returns frames written.

    `on_window` sees each window before it is written (for level meters), so the audio is
    read from the spools exactly once.
    """
    import soundfile as sf  # native library: imported only when audio is written

    spec = spec_for(fmt)
    if spec.name == "opus" and sample_rate not in OPUS_RATES:
        raise MediaError(f"Opus cannot encode {sample_rate} Hz (needs one of {OPUS_RATES})")
    frames = 0
    try:
        with sf.SoundFile(
            str(path),
            mode="w",
            samplerate=sample_rate,
            channels=channels,
            format=spec.sf_format,
            subtype=spec.subtype,
        ) as out:
            for window in windows:
                if on_window is not None:
                    on_window(window)
                if len(window):
                    out.write(window)
                    frames += len(window)
    except sf.LibsndfileError as exc:
        raise MediaError(f"cannot encode {spec.name}: {exc}") from exc
    if spec.sf_format == "OGG":
        set_ogg_serial(path, OGG_SERIAL)
    return frames


# Ogg's CRC-32 is the MSB-first polynomial 0x04C11DB7 with no initial or final xor. zlib's CRC
# is the bit-reflected form of the same polynomial, so reflect the bytes in and the result out.
_REFLECT = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def ogg_crc(data: bytes) -> int:
    """The CRC of an Ogg page (computed with its CRC field zeroed)."""
    raw = zlib.crc32(data.translate(_REFLECT), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def set_ogg_serial(path: Path, serial: int) -> int:
    """Rewrite every page's stream serial in place and fix its CRC; returns pages rewritten."""
    pages = 0
    with open(path, "r+b") as fh:
        offset = 0
        while True:
            fh.seek(offset)
            header = fh.read(27)
            if not header:
                return pages
            if len(header) < 27 or header[:4] != b"OggS":
                raise MediaError(f"Ogg page {pages} is damaged at byte {offset}")
            nsegs = header[26]
            table = fh.read(nsegs)
            body = fh.read(sum(table))
            page = bytearray(header + table + body)
            struct.pack_into("<I", page, 14, serial)
            struct.pack_into("<I", page, 22, 0)
            struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
            fh.seek(offset)
            fh.write(page)
            offset += len(page)
            pages += 1
