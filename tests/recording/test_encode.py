"""WAV, FLAC and Ogg Opus output checked with independent tools (ffmpeg, ffprobe, sox, PyAV)."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import zlib
from pathlib import Path

import av
import numpy as np
import pytest

from siprec_recorder.errors import MediaError, RecorderError
from siprec_recorder.recording.encode import OGG_SERIAL, encode_windows, ogg_crc, spec_for
from tests.recording.support import RATE, ffmpeg_decode, ffprobe, tone


def _windows(x: np.ndarray, n: int = 8000) -> list[np.ndarray]:
    return [x[i : i + n] for i in range(0, len(x), n)]


def _speechlike(n: int) -> np.ndarray:
    """Tones and noise with pauses, so codecs meet something like a voice."""
    x = tone(n, 220.0, amp=6000) // 2 + tone(n, seed=11, amp=1500)
    x[n // 3 : n // 2] = 0
    return x.astype(np.int16)


def test_wav_header_read_by_sox(tmp_path: Path) -> None:
    x = _speechlike(RATE * 3 + 17)
    path = tmp_path / "a.wav"
    encode_windows(path, _windows(x), channels=1, sample_rate=RATE, fmt="wav")
    info = subprocess.run(
        ["sox", "--i", str(path)], check=True, capture_output=True, text=True
    ).stdout
    fields = {
        k.strip(): v.strip() for k, v in (ln.split(":", 1) for ln in info.splitlines() if ":" in ln)
    }
    assert fields["Channels"] == "1"
    assert fields["Sample Rate"] == "8000"
    assert fields["Precision"] == "16-bit"
    assert fields["Sample Encoding"] == "16-bit Signed Integer PCM"
    assert f"{len(x)} samples" in fields["Duration"]
    assert path.stat().st_size == 44 + 2 * len(x)  # canonical header, nothing else
    np.testing.assert_array_equal(ffmpeg_decode(path, 1)[:, 0], x)


def test_flac_round_trip_is_bit_exact_with_ffmpeg_and_pyav(tmp_path: Path) -> None:
    left, right = _speechlike(RATE * 4), tone(RATE * 4, seed=12, amp=12000)
    stereo = np.stack([left, right], axis=1)
    path = tmp_path / "a.flac"
    encode_windows(path, _windows(stereo), channels=2, sample_rate=RATE, fmt="flac")
    probe = ffprobe(path)
    assert probe["codec_name"] == "flac" and probe["sample_rate"] == "8000"
    assert probe["channels"] == "2" and probe["bits_per_raw_sample"] == "16"
    np.testing.assert_array_equal(ffmpeg_decode(path, 2), stereo)
    with av.open(str(path)) as container:
        frames = list(container.decode(audio=0))
    assert frames[0].format.name == "s16" and not frames[0].format.is_planar
    decoded = np.concatenate([f.to_ndarray().reshape(-1, 2) for f in frames])  # interleaved
    np.testing.assert_array_equal(decoded, stereo)
    assert path.stat().st_size < stereo.nbytes  # lossless and still smaller


def test_opus_is_valid_ogg_opus_and_much_smaller(tmp_path: Path) -> None:
    x = _speechlike(RATE * 10)
    wav, opus = tmp_path / "a.wav", tmp_path / "a.opus"
    encode_windows(wav, _windows(x), channels=1, sample_rate=RATE, fmt="wav")
    encode_windows(opus, _windows(x), channels=1, sample_rate=RATE, fmt="opus")
    probe = ffprobe(opus)
    assert probe["codec_name"] == "opus" and probe["channels"] == "1"
    assert opus.stat().st_size * 4 < wav.stat().st_size
    # ffmpeg decodes it without a single CRC or packet error
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(opus), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr == ""
    # ffmpeg decodes Opus at its native 48 kHz: the decoded length must be the input's 10 s
    decoded = ffmpeg_decode(opus, 1)[:, 0]
    seconds = len(decoded) / int(probe["sample_rate"])
    assert abs(seconds - 10.0) < 0.05


def test_opus_carries_the_input_audio(tmp_path: Path) -> None:
    """Lossy, so not sample for sample: decoded by ffmpeg at 8 kHz, the signal must correlate
    with the input, and a silent stretch must stay silent (a file of zeros, or of the wrong
    audio, passes every container check above)."""
    n = RATE * 10
    x = (tone(n, 220.0, amp=6000) // 2 + tone(n, seed=11, amp=1500)).astype(np.int16)
    x[n // 3 : n // 2] = 0
    path = tmp_path / "a.opus"
    encode_windows(path, _windows(x), channels=1, sample_rate=RATE, fmt="opus")
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ar", "8000", "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    y = np.frombuffer(raw, "<i2").astype(float)[:n]
    xf = x.astype(float)[: len(y)]
    assert len(y) > 0.99 * n
    corr = float(np.dot(xf, y) / np.sqrt(np.dot(xf, xf) * np.dot(y, y)))
    assert corr > 0.8
    quiet = np.abs(y[n // 3 + 800 : n // 2 - 800]).mean()
    loud = np.abs(y[800 : n // 3 - 800]).mean()
    assert quiet < 0.1 * loud


def test_opus_output_is_reproducible_with_a_fixed_serial(tmp_path: Path) -> None:
    x = _speechlike(RATE * 5)
    digests = []
    for i in range(2):
        path = tmp_path / f"{i}.opus"
        encode_windows(path, _windows(x), channels=1, sample_rate=RATE, fmt="opus")
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
        data = path.read_bytes()
        assert struct.unpack_from("<I", data, 14)[0] == OGG_SERIAL
    assert digests[0] == digests[1]


def test_ogg_crc_matches_the_crc_libsndfile_wrote(tmp_path: Path) -> None:
    import soundfile as sf

    path = tmp_path / "raw.ogg"
    with sf.SoundFile(str(path), "w", RATE, 1, format="OGG", subtype="OPUS") as f:
        f.write(tone(RATE))
    data = path.read_bytes()
    nsegs = data[26]
    length = 27 + nsegs + sum(data[27 : 27 + nsegs])
    page = bytearray(data[:length])
    stored = struct.unpack_from("<I", page, 22)[0]
    struct.pack_into("<I", page, 22, 0)
    assert ogg_crc(bytes(page)) == stored
    assert ogg_crc(b"") == 0 and ogg_crc(b"\x00") == 0
    assert zlib.crc32(b"x") != ogg_crc(b"x")  # not zlib's reflected CRC


def test_formats_and_refusals(tmp_path: Path) -> None:
    assert spec_for("FLAC").ext == "flac" and spec_for("opus").content_type == "audio/ogg"
    with pytest.raises(RecorderError, match="unknown output format"):
        spec_for("mp3")
    with pytest.raises(MediaError, match="Opus cannot encode 11025 Hz"):
        encode_windows(tmp_path / "x.opus", [], channels=1, sample_rate=11025, fmt="opus")
