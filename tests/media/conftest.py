"""Fixtures of the media tests: files muxed by ffmpeg and mkvmerge from known PCM."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

RATE = 8000


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def ffmpeg_pcm(path: Path) -> np.ndarray:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-acodec", "pcm_s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(out, dtype="<i2")


@pytest.fixture(scope="session")
def muxed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("muxed")
    rng = np.random.default_rng(7)
    t = np.arange(int(RATE * 3.3)) / RATE
    pcm = (8000 * np.sin(2 * np.pi * 440 * t) + rng.integers(-2000, 2000, t.size)).astype(np.int16)
    np.save(d / "source.npy", pcm)
    with wave.open(str(d / "source.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    src = str(d / "source.wav")
    files = {}
    for codec in ("pcm_s16le", "pcm_s16be", "pcm_mulaw", "pcm_alaw"):
        files[f"ffmpeg-{codec}"] = d / f"ffmpeg-{codec}.mkv"
        run("ffmpeg", "-v", "error", "-y", "-i", src, "-c:a", codec, str(files[f"ffmpeg-{codec}"]))
    files["mkvmerge-s16le"] = d / "mkvmerge-s16le.mkv"
    run("mkvmerge", "-q", "-o", str(files["mkvmerge-s16le"]), src)
    for codec in ("pcm_mulaw", "pcm_alaw"):
        files[f"mkvmerge-{codec}"] = d / f"mkvmerge-{codec}.mkv"
        run("mkvmerge", "-q", "-o", str(files[f"mkvmerge-{codec}"]), str(files[f"ffmpeg-{codec}"]))
    files["source"] = d / "source.npy"
    return files
