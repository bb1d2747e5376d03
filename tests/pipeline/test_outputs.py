"""Outputs through the real entry points: formats via `process`, Object Lock via the S3 store."""

from __future__ import annotations

import datetime as dt
import subprocess

import numpy as np
import pytest

from siprec_recorder.cli import main
from siprec_recorder.simulate import simulate_call
from tests.pipeline.conftest import process_args, write_call_files


def _process(tmp_path, call, fmt: str) -> int:
    events, media = write_call_files(call, tmp_path / "call")
    args = process_args(events, media, tmp_path / "out", "--format", fmt)
    return main(args)


def _ffmpeg_pcm(path, channels: int = 1) -> np.ndarray:
    """Decode with ffmpeg (independent of libsndfile) to raw s16le."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-acodec", "pcm_s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").reshape(-1, channels)


def test_process_flac_round_trips_bit_exact(tmp_path):
    call = simulate_call(duration_s=6, seed=31, gaps=True)
    assert _process(tmp_path, call, "flac") == 0
    flacs = {p.name: p for p in (tmp_path / "out").rglob("*.flac")}
    assert len(flacs) == 3  # two parties and the stereo file
    for leg in call.legs:
        (path,) = [p for name, p in flacs.items() if name.endswith(f"-{leg.label}.flac")]
        np.testing.assert_array_equal(_ffmpeg_pcm(path)[:, 0], leg.pcm)


def test_process_opus_is_ogg_opus_and_smaller(tmp_path):
    call = simulate_call(duration_s=6, seed=32)
    assert _process(tmp_path, call, "opus") == 0
    (stereo,) = list((tmp_path / "out").rglob("stereo.opus"))
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,channels",
            "-of",
            "csv=p=0",
            str(stereo),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert probe == "opus,2"
    assert stereo.stat().st_size < 6 * 8000 * 2 * 2 / 4  # well under a quarter of the WAV


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event", "missing.json"], "missing.json"),
        (["--event", "{bad}", "--media", "no-equals-sign"], "STREAM_ARN=FILE"),
    ],
)
def test_process_bad_input_exits_2_with_one_line(tmp_path, capsys, args, message):
    bad = tmp_path / "{bad}"
    bad.write_text("{}")
    args = [a.replace("{bad}", str(bad)) for a in args]
    assert main(["process", "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err


def test_process_refuses_an_event_that_is_not_json(tmp_path, capsys):
    bad = tmp_path / "e.json"
    bad.write_bytes(b"\xff\xfe<not json>")
    assert main(["process", "--out", str(tmp_path / "o"), "--event", str(bad)]) == 2
    assert "e.json: not a JSON event" in capsys.readouterr().err


def test_object_lock_retention_is_applied_to_every_object(stack, tmp_path):
    from siprec_recorder.aws.s3 import S3Store

    s3 = stack.client("s3")
    s3.create_bucket(Bucket="locked-recordings", ObjectLockEnabledForBucket=True)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    store = S3Store(
        "locked-recordings",
        client=s3,
        object_lock_mode="COMPLIANCE",
        object_lock_days=7,
        retain_from=start,
    )
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF" + bytes(100))
    store.put_file("recordings/x/a.wav", audio, content_type="audio/wav", tags={"A": "1"})
    store.put_bytes("recordings/x/manifest.json", b"{}", content_type="application/json", tags={})
    for key in ("recordings/x/a.wav", "recordings/x/manifest.json"):
        head = s3.head_object(Bucket="locked-recordings", Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] == start + dt.timedelta(days=7)
