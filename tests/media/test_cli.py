"""`siprec-recorder decode`: JSON on stdout, one WAV per audio track, exit 2 on a bad file."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from siprec_recorder.cli import main
from siprec_recorder.media.writer import KvsStreamWriter
from tests.conftest import KVS_SAMPLES, REPO_ROOT

T0 = 1_700_000_000_000


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


@pytest.mark.parametrize("general", [False, True])
def test_decode_writes_wav_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], general: bool
) -> None:
    rng = np.random.default_rng(3)
    parts = [rng.integers(-9000, 9000, 16000).astype(np.int16) for _ in range(3)]
    stream = tmp_path / "call.mkv"
    with open(stream, "wb") as f:
        for i, pcm in enumerate(parts):
            w = KvsStreamWriter(
                track_name="../caller audio",
                producer_tags={"TransactionId": "ab" if i != 1 else "zz"},
            )
            f.write(w.fragment(T0 + 2000 * i, pcm)[1])
    args = ["decode", str(stream), "--transaction-id", "ab", "--out", str(tmp_path / "out")]
    assert main(args + (["--general"] if general else [])) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["fragments"], out["skipped_fragments"], out["truncated"], out["truncated_at"]) == (
        3,
        1,
        False,
        None,
    )
    (track,) = out["tracks"]
    assert track["wav"] == str(tmp_path / "out" / "caller_audio.wav")  # made safe for a file name
    assert {
        k: track[k]
        for k in (
            "number",
            "name",
            "codec",
            "sample_rate",
            "channels",
            "frames",
            "samples",
            "gaps",
            "gap_ms",
            "overlaps",
        )
    } == {
        "number": 1,
        "name": "../caller audio",
        "codec": "A_PCM/INT/LIT",
        "sample_rate": 8000,
        "channels": 1,
        "frames": 200,
        "samples": 48000,
        "gaps": 1,
        "gap_ms": 2000.0,
        "overlaps": 0,
    }
    rate, pcm = read_wav(Path(track["wav"]))
    assert rate == 8000
    assert np.array_equal(pcm, np.concatenate([parts[0], np.zeros(16000, np.int16), parts[2]]))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "caller_audio.wav"
    ]  # no spool left


def test_decode_video_capture_lists_track_without_wav(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = KVS_SAMPLES / "output-get-media-equal-timecode.mkv"
    assert main(["decode", str(path), "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["fragments"], out["truncated"], out["truncated_at"]) == (2, True, 1272988)
    (track,) = out["tracks"]
    assert track["frames"] == 239 and track["codec"] == "V_MPEG4/ISO/AVC" and "wav" not in track
    assert track["name"] is None and track["sample_rate"] is None


@pytest.mark.parametrize("content", [b"", b"not a matroska file at all", bytes(range(256)) * 10])
def test_bad_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(content)
    status = main(["decode", str(bad), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    if content:
        assert status == 2
        assert captured.err.count("\n") == 1 and captured.err.startswith("siprec-recorder decode:")
        assert captured.out == ""
    else:  # an empty body is an empty stream: nothing in it, nothing cut
        assert status == 0 and json.loads(captured.out)["fragments"] == 0


def test_console_script_on_a_real_capture(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "siprec-recorder"),
            "decode",
            str(KVS_SAMPLES / "test_mixed_tags.mkv"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["fragments"] == 10 and out["tracks"][0]["frames"] == 100
    missing = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "siprec-recorder"),
            "decode",
            str(tmp_path / "nope.mkv"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
