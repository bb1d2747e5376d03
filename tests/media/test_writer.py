"""writer.py produces what KVS GetMedia returns, as independent tools read it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np

from siprec_recorder.media.writer import KvsStreamWriter
from tests.conftest import KVS_SAMPLES

T0 = 1_700_000_000_000


def _stream(tmp_path: Path) -> tuple[Path, np.ndarray, list]:  # type: ignore[type-arg]
    pcm = np.random.default_rng(2).integers(-20000, 20000, 8000 * 5).astype(np.int16)
    w = KvsStreamWriter(
        track_name="caller",
        producer_tags={"TransactionId": "t-9"},
        tags_after_cluster={"CallId": "c-9"},
    )
    pieces = list(w.stream(T0, pcm))
    path = tmp_path / "w.mkv"
    path.write_bytes(b"".join(data for _, data in pieces))
    return path, pcm, pieces


def test_pyav_decodes_the_exact_pcm(tmp_path: Path) -> None:
    path, pcm, pieces = _stream(tmp_path)
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        assert (stream.codec_context.name, stream.rate) == ("pcm_s16le", 8000)
        out = b"".join(
            bytes(f.planes[0])[: f.samples * 2] for p in c.demux(stream) for f in p.decode()
        )
    assert np.array_equal(np.frombuffer(out, "<i2"), pcm)
    assert [i.duration_ms for i, _ in pieces] == [2000, 2000, 1000]
    assert [i.producer_ms for i, _ in pieces] == [T0, T0 + 2000, T0 + 4000]
    numbers = [int(i.number) for i, _ in pieces]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert [i.size for i, d in pieces] == [len(d) for _, d in pieces]


def _layout(path: Path) -> str:
    """Top-level children of the Segment as mkvinfo names them, one letter each."""
    info = subprocess.run(["mkvinfo", "-v", str(path)], capture_output=True, text=True).stdout
    letters = {
        "Tags": "T",
        "Segment information": "I",
        "Tracks": "K",
        "Cluster": "C",
        "EBML void": "V",
    }
    body = info.split("+ Segment", 1)[1]
    out = ""
    for line in body.splitlines():
        if line.startswith("|+ "):
            name = line[3:].split(":")[0].strip()
            out += letters.get(name, "?")
    return out


def test_layout_matches_a_real_kvs_fragment(tmp_path: Path) -> None:
    _, _, pieces = _stream(tmp_path)
    ours, real = tmp_path / "ours.mkv", tmp_path / "real.mkv"
    ours.write_bytes(pieces[0][1])
    # the first fragment of a real KVS capture with producer tags: bytes [0, 2618) (hand walk:
    # the second EBML header is at 2618)
    real.write_bytes((KVS_SAMPLES / "test_mixed_tags.mkv").read_bytes()[:2618])
    assert _layout(real) == "TTTTTIKTCTTTTTT"  # producer tags, Info, Tracks, KVS tags, Cluster, ...
    assert _layout(ours) == "TIKVTCTT"  # the same order (one producer tag each side, a Void)
    info = subprocess.run(["mkvinfo", "-v", str(ours)], capture_output=True, text=True).stdout
    assert "Segment: size unknown" in info
    data = pieces[0][1]
    assert data.count(bytes.fromhex("1F43B675")) == 1
    assert bytes.fromhex("1F43B675FF") in data  # the Cluster's size field is "unknown" (0xFF)
    for tag, value in (
        ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", pieces[0][0].number),
        ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", "1700000000.000"),
        ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1700000002.120"),
        ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", pieces[0][0].number),
        ("TransactionId", "t-9"),
        ("CallId", "c-9"),
    ):
        assert f"Name: {tag}" in info
        assert f"String: {value}" in info
