"""Whole batches of same-length fragments (media/batch.py): taken at once, or handed back.

Every test decodes the same bytes on the general path too and requires identical results and
identical events; the expected audio is the PCM the stream was written from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siprec_recorder.errors import KvsServiceError, MediaError
from siprec_recorder.media.decode import StreamDecoder, decode_file
from siprec_recorder.media.events import FragmentBatch
from siprec_recorder.media.mkv import MkvReader
from siprec_recorder.media.results import CallFilter
from siprec_recorder.media.writer import KvsStreamWriter
from tests.media.helpers import (
    audio_track,
    decode_bytes,
    ebml_header,
    el,
    read_events,
    summary,
    uint_el,
)

T0 = 1_700_000_000_000
FRAME = 160  # samples of a 20 ms frame at 8 kHz


def pcm(i: int, frames: int = 20) -> np.ndarray:
    return np.random.default_rng(i).integers(-9000, 9000, FRAME * frames).astype(np.int16)


def stream(
    count: int,
    *,
    tid: list[str] | None = None,
    step_ms: list[int] | None = None,
    jitter_at: int | None = None,
) -> tuple[bytes, list[np.ndarray]]:
    """`count` fragments of 20 frames; TransactionId per fragment; extra clock step per fragment."""
    w = KvsStreamWriter(tags_after_cluster={"CallId": "c1"})
    at, data, audio = T0, b"", []
    for i in range(count):
        samples = pcm(i)
        tags = {"TransactionId": tid[i] if tid else "A"}
        jitter = [1 if k % 2 else 0 for k in range(20)] if i == jitter_at else None
        data += w.fragment(at, samples, producer_tags=tags, jitter_ms=jitter)[1]
        audio.append(samples)
        at += 400 + (step_ms[i] if step_ms else 0)
    return data, audio


def batches(data: bytes, chunk: int = 1 << 20) -> list[FragmentBatch]:
    reader = MkvReader(fast=True)
    out = []
    for i in range(0, len(data), chunk):
        out += reader.feed(data[i : i + chunk])
    out += reader.end()
    return [ev for ev in out if isinstance(ev, FragmentBatch)]


def same(data: bytes, chunk: int = 1 << 20, call_filter: CallFilter | None = None) -> dict:  # type: ignore[type-arg]
    """Both paths agree on the result and on every event; returns the fast path's summary."""
    results = []
    for fast in (False, True):
        r = decode_bytes(data, fast=fast, chunk=chunk, call_filter=call_filter)
        results.append(summary(r))
        r.close()
    assert results[0] == results[1]
    assert read_events(data, fast=True, chunk=chunk) == read_events(data, fast=False, chunk=chunk)
    return results[1]


def track_pcm(s: dict) -> np.ndarray:  # type: ignore[type-arg]
    return np.frombuffer(s["tracks"][0][-1], dtype="<i2")


def test_equal_fragments_are_batched_and_exact() -> None:
    data, audio = stream(40)
    found = batches(data)
    assert sum(b.count for b in found) >= 30  # all but the templated first of each chunk
    s = same(data)
    assert s["fragments"] == 40 and s["skipped"] == 0
    assert np.array_equal(track_pcm(s), np.concatenate(audio))
    for chunk in (999, 40_000):
        assert same(data, chunk) == s


def test_filter_with_the_id_changing_inside_a_batch() -> None:
    tid = ["A"] * 12 + ["B"] * 10 + ["A"] * 8
    data, audio = stream(30, tid=tid)
    kept = np.concatenate([a for a, t in zip(audio, tid, strict=True) if t == "A"])
    for chunk in (1 << 20, 50_000):
        s = same(data, chunk, CallFilter(transaction_id="A"))
        assert (s["fragments"], s["skipped"]) == (30, 10)
        # the 10 B fragments leave a 4 s hole in the A call, filled with silence
        got = track_pcm(s)
        assert np.array_equal(got[: 12 * 3200], kept[: 12 * 3200])
        assert not got[12 * 3200 : 22 * 3200].any()
        assert np.array_equal(got[22 * 3200 :], kept[12 * 3200 :])
        s = same(data, chunk, CallFilter(transaction_id="B"))
        assert (s["fragments"], s["skipped"]) == (30, 20)
        assert np.array_equal(track_pcm(s), np.concatenate(audio[12:22]))


def test_filter_on_an_id_absent_everywhere() -> None:
    data, _ = stream(20)
    s = same(data, call_filter=CallFilter(call_id="nope"))
    assert (s["fragments"], s["skipped"], s["tracks"]) == (20, 20, [])
    s = same(data, call_filter=CallFilter(contact_id="x"))  # never tagged: undecided, skipped
    assert (s["fragments"], s["skipped"]) == (20, 20)


def test_a_gap_inside_a_batch_is_placed_fragment_by_fragment() -> None:
    steps = [0] * 30
    steps[14] = 500  # fragment 15 starts 500 ms late
    steps[20] = -60  # fragment 21 starts 60 ms early (overlap)
    data, audio = stream(30, step_ms=steps)
    s = same(data)
    track = s["tracks"][0]
    assert (track[7], track[8]) == (1, 500.0)  # gaps, gap_ms
    assert (track[9], track[10]) == (1, 60.0)  # overlaps, overlap_ms


def test_jittered_block_timecodes_stay_in_the_batch_and_exact() -> None:
    data, audio = stream(30, jitter_at=17)
    found = batches(data)
    covered = {b.first_index + j for b in found for j in range(b.count)}
    assert 17 in covered and len(covered) >= 25
    s = same(data)
    assert np.array_equal(track_pcm(s), np.concatenate(audio))
    assert s["tracks"][0][7:11] == (0, 0.0, 0, 0.0)  # 1 ms of jitter: no gap, no overlap


def test_a_timestamp_the_vector_parser_refuses_is_read_per_fragment() -> None:
    data, audio = stream(20)
    value = b"1700000004.000"  # fragment 10's producer timestamp
    assert data.count(value) == 1
    data = data.replace(value, b"1700000004.00 ")  # same value once stripped
    s = same(data)
    assert np.array_equal(track_pcm(s), np.concatenate(audio))
    found = batches(data)
    assert 10 not in {b.first_index + j for b in found for j in range(b.count)}


def test_a_bad_timestamp_fails_both_paths_alike() -> None:
    data, _ = stream(20)
    data = data.replace(b"1700000004.000", b"1700000004.0x0")
    results = []
    for fast in (False, True):
        dec = StreamDecoder(fast=fast)
        with pytest.raises(MediaError, match="invalid KVS timestamp"):
            dec.feed(data)
        results.append(summary(dec.close()))
    assert results[0] == results[1]
    assert results[1]["fragments"] == 11  # the bad fragment started, then failed


def _no_producer_stream(count: int, frames: tuple[int, ...]) -> tuple[bytes, list[np.ndarray]]:
    """Hand-made fragments: no tags at all, a sized Cluster, cluster Timecode in ms."""
    seg_head = bytes.fromhex("18538067") + b"\x01" + b"\xff" * 7  # unknown-size Segment
    info = el(0x1549A966, uint_el(0x2AD7B1, 1_000_000))
    tracks = el(0x1654AE6B, audio_track(1, "AUDIO"))
    data, audio, at = b"", [], 5000
    for i in range(count):
        k_i = frames[i % len(frames)]
        samples = pcm(100 + i, k_i)
        blocks = b"".join(
            el(
                0xA3,
                b"\x81"
                + (20 * k).to_bytes(2, "big")
                + b"\x80"
                + samples[k * 160 : (k + 1) * 160].astype("<i2").tobytes(),
            )
            for k in range(k_i)
        )
        cluster = el(0x1F43B675, el(0xE7, at.to_bytes(4, "big")) + blocks)
        at += 20 * k_i
        data += ebml_header() + seg_head + info + tracks + cluster
        audio.append(samples)
    return data, audio


@pytest.mark.parametrize("frames", [(10,), (9, 10, 11, 10)])
def test_cluster_timecodes_without_producer_tags(frames: tuple[int, ...]) -> None:
    data, audio = _no_producer_stream(25, frames)
    assert sum(b.count for b in batches(data)) >= 20
    s = same(data)
    assert s["fragments"] == 25
    assert np.array_equal(track_pcm(s), np.concatenate(audio))
    assert s["tracks"][0][11] == 5_000_000_000  # start_ns: first cluster timecode x 1 ms


def test_a_gap_too_long_fails_in_the_same_fragment_on_both_paths() -> None:
    steps = [0] * 30
    steps[14] = 5000  # fragment 15 starts 5 s late: above the 2 s limit below
    data, _ = stream(30, step_ms=steps)
    results = []
    for fast in (False, True):
        dec = StreamDecoder(fast=fast, max_gap_seconds=2)
        with pytest.raises(MediaError, match="gap of 5 s"):
            dec.feed(data)
        results.append(summary(dec.close()))
    assert results[0] == results[1]
    assert results[1]["fragments"] == 16


@pytest.mark.parametrize("fast", [False, True], ids=["general", "fast"])
def test_decode_file_leaves_no_spool_when_the_error_is_at_the_very_end(
    tmp_path: Path, fast: bool
) -> None:
    """KVS reports a failure in a tag after the last Cluster: the fast path finds it in close()."""
    w = KvsStreamWriter()
    path = tmp_path / "in.mkv"
    last = w.fragment(T0 + 400, pcm(2), tags_after_cluster={"AWS_KINESISVIDEO_ERROR_CODE": "500"})[
        1
    ]
    path.write_bytes(w.fragment(T0, pcm(1))[1] + last)
    spools = tmp_path / "spools"
    spools.mkdir()
    with pytest.raises(KvsServiceError, match="KVS error code 500"):
        decode_file(path, spool_dir=spools, fast=fast)
    assert list(spools.iterdir()) == []


def test_block_counts_that_change_every_fragment_are_batched() -> None:
    """Real Chime fragments hold 99, 100 or 101 frames."""
    w = KvsStreamWriter()
    at, data, audio = T0, b"", []
    for i in range(60):
        frames = (19, 20, 21)[i % 3]
        audio.append(pcm(i, frames))
        data += w.fragment(at, audio[-1])[1]
        at += 20 * frames
    assert sum(b.count for b in batches(data)) >= 55
    for chunk in (1 << 20, 30_000):
        s = same(data, chunk)
        assert np.array_equal(track_pcm(s), np.concatenate(audio))
        assert s["tracks"][0][7:11] == (0, 0.0, 0, 0.0)


def test_a_layout_change_every_other_fragment_costs_no_whole_buffer_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each failed batch attempt stops at its first rows (scanning the whole buffer after every
    fragment made such streams 10x slower)."""
    from siprec_recorder.media import batch

    failed = []
    real = batch._scan

    def spy(*a: object) -> object:
        got = real(*a)  # type: ignore[arg-type]
        if got is None:
            failed.append(len(a[-2]))  # type: ignore[arg-type]
        return got

    monkeypatch.setattr(batch, "_scan", spy)
    w = KvsStreamWriter()
    at, data, audio = T0, b"", []
    for i in range(40):
        audio.append(pcm(i))
        key = "TransactionId" if i % 2 else "TransactionIx"  # a fixed byte of the template
        data += w.fragment(at, audio[-1], producer_tags={key: "A"})[1]
        at += 400
    s = same(data)
    assert np.array_equal(track_pcm(s), np.concatenate(audio))
    assert failed and max(failed) <= batch.MIN_BATCH


@settings(max_examples=30, deadline=None)
@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from([19, 20, 20, 21]),  # frames in the fragment
            st.sampled_from(["A", "A", "A", "B"]),  # TransactionId (same width: a tag value)
            st.sampled_from([0, 0, 0, 0, 3, -3, 700]),  # clock step to the next fragment
            st.booleans(),  # block jitter
        ),
        min_size=2,
        max_size=30,
    ),
    damage=st.one_of(st.none(), st.tuples(st.floats(0.0, 1.0), st.integers(1, 255))),
    chunk=st.sampled_from([50_000, 1 << 20]),
    filtered=st.booleans(),
)
def test_random_batches_match_the_general_path(plan, damage, chunk, filtered) -> None:  # type: ignore[no-untyped-def]
    """Many fragments per chunk with every kind of difference, and at times one damaged byte."""
    w = KvsStreamWriter(tags_after_cluster={"CallId": "c1"})
    at, data = T0, b""
    for k, (frames, tid, step, jitter) in enumerate(plan):
        data += w.fragment(
            at,
            pcm(k, frames),
            producer_tags={"TransactionId": tid},
            jitter_ms=[(k + i) % 3 - 1 for i in range(frames)] if jitter else None,
        )[1]
        at += 20 * frames + step
    if damage is not None:
        where = int(damage[0] * (len(data) - 1))
        data = data[:where] + bytes([data[where] ^ damage[1]]) + data[where + 1 :]
    call_filter = CallFilter(transaction_id="A") if filtered else None
    results = []
    for fast in (False, True):
        dec = StreamDecoder(fast=fast, call_filter=call_filter)
        error = None
        try:
            for i in range(0, len(data), chunk):
                dec.feed(data[i : i + chunk])
            dec.close()
        except MediaError as exc:
            error = str(exc)
        results.append((error, summary(dec.close())))
        dec.close().close()
    assert results[0] == results[1]


def test_a_different_tag_after_the_cluster_ends_the_batch() -> None:
    w = KvsStreamWriter()
    at, data, audio = T0, b"", []
    for i in range(30):
        audio.append(pcm(i))
        after = {"CallIx" if i == 12 else "CallId": "c1"}  # same length: only a fixed byte differs
        data += w.fragment(at, audio[-1], tags_after_cluster=after)[1]
        at += 400
    covered = {b.first_index + j for b in batches(data) for j in range(b.count)}
    assert 12 not in covered and len(covered) >= 20
    s = same(data)
    assert np.array_equal(track_pcm(s), np.concatenate(audio))


def outcome(data: bytes, chunk: int = 1 << 20) -> list[tuple[str | None, dict]]:  # type: ignore[type-arg]
    """(error, summary) of both paths, which must agree."""
    results = []
    for fast in (False, True):
        dec = StreamDecoder(fast=fast)
        error = None
        try:
            for i in range(0, len(data), chunk):
                dec.feed(data[i : i + chunk])
            dec.close()
        except MediaError as exc:
            error = str(exc)
        results.append((error, summary(dec.close())))
        dec.close().close()
    assert results[0] == results[1]
    return results


def test_a_block_of_another_track_inside_a_batch() -> None:
    data, _ = stream(20)
    block = b"\x81\x00\x00\x80"  # track 1, timecode 0, keyframe: each fragment's first block
    at = data.index(block, data.index(b"1700000004.000"))  # fragment 10
    data = data[:at] + b"\x82" + data[at + 1 :]
    error, s = outcome(data)[1]
    assert error is not None and "track 2" in error
    assert s["fragments"] == 11


def test_a_wrong_cluster_size_inside_a_batch() -> None:
    data, _ = _no_producer_stream(20, (10,))
    cluster = bytes.fromhex("1F43B675")
    at = [i for i in range(len(data)) if data.startswith(cluster, i)][10] + 4
    size = int.from_bytes(data[at : at + 2], "big") & 0x3FFF
    data = data[:at] + (0x4000 | (size + 1)).to_bytes(2, "big") + data[at + 2 :]
    error, s = outcome(data)[1]
    assert error is not None and s["fragments"] == 11


def test_garbage_after_a_batch() -> None:
    data, _ = stream(20)
    for tail in (b"\x00" * 7, b"\x1a\x45\xdf", b"\xa3\x81"):
        for chunk in (1 << 20, 50_000):
            error, s = outcome(data + tail, chunk)[1]
            assert s["fragments"] == 20
            if tail[0] == 0:  # the offset in the stream, however the input was chunked
                assert error == f"invalid EBML element id byte 0x00 at offset {len(data)}"
