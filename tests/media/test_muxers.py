"""Media muxed by ffmpeg, mkvmerge and by hand from the spec, decoded sample-for-sample.

Source PCM is generated here; the expected output of G.711 files is FFmpeg's own decoding of them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from siprec_recorder.errors import MediaError
from siprec_recorder.media.codecs import ALAW_TABLE, ULAW_TABLE
from siprec_recorder.media.decode import decode_file
from tests.media.conftest import RATE, ffmpeg_pcm
from tests.media.helpers import (
    audio_track,
    block_body,
    decode_bytes,
    el,
    frames,
    pcm_bytes,
    read_events,
    simple_file,
    uint_el,
)

FAST = [pytest.param(False, id="general"), pytest.param(True, id="fast")]


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize(
    "name",
    [
        "ffmpeg-pcm_s16le",
        "ffmpeg-pcm_s16be",
        "mkvmerge-s16le",
        "ffmpeg-pcm_mulaw",
        "ffmpeg-pcm_alaw",
        "mkvmerge-pcm_mulaw",
        "mkvmerge-pcm_alaw",
    ],
)
def test_muxed_files_decode_exactly(
    muxed: dict[str, Path], name: str, fast: bool, tmp_path: Path
) -> None:
    path = muxed[name]
    if "s16" in name:
        expected = np.load(muxed["source"])
    else:
        expected = ffmpeg_pcm(path)  # FFmpeg's G.711 decoding
        assert expected.size == np.load(muxed["source"]).size
    result = decode_file(path, fast=fast, spool_dir=tmp_path, chunk_size=4096)
    try:
        (track,) = result.tracks
        assert track.pcm is not None and track.sample_rate == RATE and track.channels == 1
        got = track.pcm.read_all()
        assert got.size == expected.size
        assert np.array_equal(got, expected)
        assert (track.gaps, track.overlaps, result.truncated) == (0, 0, False)
    finally:
        result.close()


def test_mkvmerge_laces_pcm(muxed: dict[str, Path]) -> None:
    """mkvmerge laces PCM (mkvinfo: '8 frame(s)' per SimpleBlock); laced frames count one each."""
    info = subprocess.run(
        ["mkvinfo", "-v", str(muxed["mkvmerge-s16le"])], capture_output=True, text=True
    ).stdout
    laced = [line for line in info.splitlines() if "Simple block" in line or "+ Block:" in line]
    expected_frames = sum(int(line.split(" frame(s)")[0].rsplit(" ", 1)[1]) for line in laced)
    assert any("8 frame(s)" in line for line in laced)
    events = read_events(muxed["mkvmerge-s16le"].read_bytes(), fast=True)
    assert len(frames(events)) == expected_frames


def test_g711_tables_match_ffmpeg(tmp_path: Path) -> None:
    raw = tmp_path / "all.raw"
    raw.write_bytes(bytes(range(256)))
    for fmt, table in (("mulaw", ULAW_TABLE), ("alaw", ALAW_TABLE)):
        out = subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-f",
                fmt,
                "-ar",
                "8000",
                "-ac",
                "1",
                "-i",
                str(raw),
                "-f",
                "s16le",
                "-",
            ],
            check=True,
            capture_output=True,
        ).stdout
        assert np.array_equal(np.frombuffer(out, dtype="<i2"), table)


# --- hand-made files: lacing, BlockGroup, multi-byte track numbers, several tracks ----------


def _pieces(n: int, sizes: list[int], seed: int) -> tuple[np.ndarray, list[bytes]]:
    pcm = np.random.default_rng(seed).integers(-30000, 30000, n).astype(np.int16)
    out, pos = [], 0
    for s in sizes:
        out.append(pcm_bytes(pcm[pos : pos + s]))
        pos += s
    assert pos == n
    return pcm, out


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("lacing", ["xiph", "ebml", "fixed"])
def test_laced_blocks(lacing: str, fast: bool) -> None:
    sizes = [160] * 6 if lacing == "fixed" else [160, 300, 40, 255, 510, 80]
    pcm, pieces = _pieces(sum(sizes), sizes, 1)
    half = 3
    body1 = block_body(1, 0, pieces[:half], lacing)
    start2 = sum(sizes[:half]) * 1000 // RATE  # ms: the second block starts where the first ends
    body2 = block_body(1, start2, pieces[half:], lacing)
    data = simple_file(
        audio_track(1, "caller"), uint_el(0xE7, 0) + el(0xA3, body1) + el(0xA3, body2)
    )
    events = read_events(data, fast=fast, chunk=7)
    assert [len(f.payload) for f in frames(events)] == [2 * s for s in sizes]
    result = decode_bytes(data, fast=fast)
    (track,) = result.tracks
    assert track.frames == 6 and track.name == "caller"
    assert track.pcm is not None and np.array_equal(track.pcm.read_all(), pcm)
    result.close()


@pytest.mark.parametrize("fast", FAST)
def test_block_groups_and_multibyte_track_numbers(fast: bool) -> None:
    pcm_a, a = _pieces(1600, [160] * 10, 2)
    pcm_b, b = _pieces(1600, [160] * 10, 3)
    cluster = uint_el(0xE7, 1000)
    for i in range(10):
        cluster += el(0xA0, el(0xA1, block_body(300, 20 * i, [a[i]], None)) + uint_el(0x9B, 20))
        cluster += el(0xA3, block_body(2, 20 * i, [b[i]], None))
    data = simple_file(audio_track(300, "agent") + audio_track(2, None), cluster)
    result = decode_bytes(data, fast=fast)
    by_name = {t.name: t for t in result.tracks}
    assert set(by_name) == {"agent", None}
    assert by_name["agent"].number == 300 and by_name[None].number == 2
    assert np.array_equal(by_name["agent"].pcm.read_all(), pcm_a)  # type: ignore[union-attr]
    assert np.array_equal(by_name[None].pcm.read_all(), pcm_b)  # type: ignore[union-attr]
    # no producer timestamp: times are the cluster + block timecodes (1000 ms + 20 ms x i)
    assert by_name["agent"].start_ns == 1_000_000_000
    result.close()


@pytest.mark.parametrize("fast", FAST)
def test_unsupported_audio_codec_is_named(fast: bool) -> None:
    data = simple_file(
        audio_track(1, "x", codec="A_OPUS"),
        uint_el(0xE7, 0) + el(0xA3, block_body(1, 0, [b"\x00" * 40], None)),
    )
    with pytest.raises(MediaError, match="A_OPUS"):
        decode_bytes(data, fast=fast)


def test_unknown_size_cluster_ends_at_next_top_level_element() -> None:
    _, pieces = _pieces(320, [160, 160], 4)
    cluster = uint_el(0xE7, 0) + el(0xA3, block_body(1, 0, [pieces[0]], None))
    tags = el(0x1254C367, el(0x7373, el(0x67C8, el(0x45A3, b"CallId") + el(0x4487, b"abc"))))
    seg = el(0x1654AE6B, audio_track(1, "a"))
    seg += bytes.fromhex("1F43B675") + b"\xff" + cluster + tags  # Cluster of unknown size
    data = (
        bytes.fromhex("1A45DFA3")
        + b"\x80"
        + bytes.fromhex("18538067")
        + b"\x01"
        + b"\xff" * 7
        + seg
    )
    events = read_events(data, fast=False, chunk=5)
    assert len(frames(events)) == 1
    tag_events = [e for e in events if getattr(e, "tags", None)]
    assert tag_events[0].tags == {"CallId": "abc"} and tag_events[0].after_cluster  # type: ignore[attr-defined]
