"""The fast path and the general path give identical results on every test file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siprec_recorder.media.decode import StreamDecoder, decode_file
from siprec_recorder.media.events import FragmentBatch, FrameRun
from siprec_recorder.media.mkv import MkvReader
from siprec_recorder.media.results import CallFilter
from siprec_recorder.media.writer import KvsStreamWriter
from tests.conftest import KVS_SAMPLES
from tests.media.helpers import decode_bytes, read_events, summary


def both(path: Path, chunk: int) -> tuple[dict[str, object], dict[str, object]]:
    out = []
    for fast in (False, True):
        r = decode_file(path, fast=fast, chunk_size=chunk)
        out.append(summary(r))
        r.close()
    return out[0], out[1]


@pytest.mark.parametrize("name", sorted(p.name for p in KVS_SAMPLES.glob("*.mkv")))
def test_kvs_samples_identical(name: str) -> None:
    general, fast = both(KVS_SAMPLES / name, 1 << 16)
    assert general == fast
    data = (KVS_SAMPLES / name).read_bytes()
    assert read_events(data, fast=True, chunk=1 << 16) == read_events(
        data, fast=False, chunk=1 << 16
    )


def test_muxed_files_identical(muxed: dict[str, Path]) -> None:
    for name, path in muxed.items():
        if path.suffix == ".mkv":
            general, fast = both(path, 4096)
            assert general == fast, name


def test_kvs_stream_identical_and_fast_path_is_used(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    w = KvsStreamWriter(
        producer_tags={"TransactionId": "x"}, tags_after_cluster={"TransactionId": "x"}
    )
    path = tmp_path / "s.mkv"
    with open(path, "wb") as f:
        for i in range(20):
            jitter = rng.integers(-2, 3, 100).tolist() if i % 3 else None
            f.write(
                w.fragment(
                    1_700_000_000_000 + 2000 * i - (30 if i == 7 else 0),
                    rng.integers(-9, 9, 16000).astype(np.int16),
                    jitter_ms=jitter,
                )[1]
            )
    for chunk in (1000, 65536, 1 << 20):
        general, fast = both(path, chunk)
        assert general == fast
    reader = MkvReader(fast=True)
    events = reader.feed(path.read_bytes()) + reader.end()
    runs = [e for e in events if isinstance(e, FrameRun)]
    runs += [r for e in events if isinstance(e, FragmentBatch) for r in e.events()]  # type: ignore[misc]
    runs = [r for r in runs if isinstance(r, FrameRun)]
    assert len(runs) == 20 and all(len(r.times_ns) == 100 for r in runs)
    assert reader._template is not None  # whole fragments were taken from the template


def test_the_escape_hatch_selects_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIPREC_DECODER_FAST=0 (read by config, passed to the Recorder's decoder) turns the fast
    path off; the decoder itself reads no environment."""
    from siprec_recorder.config import ENV_DECODER_FAST, Settings
    from siprec_recorder.pipeline.service import RecorderDeps
    from siprec_recorder.pipeline.wiring import recorder_deps

    assert Settings.from_env({ENV_DECODER_FAST: "0"}).decoder_fast is False
    assert Settings.from_env({}).decoder_fast is True
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # clients are built, never called
    env = {"RECORDING_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/q"}
    off = recorder_deps(Settings.from_env({**env, ENV_DECODER_FAST: "0"}))
    assert isinstance(off, RecorderDeps) and off.decoder_fast is False
    assert recorder_deps(Settings.from_env(env)).decoder_fast is True
    assert not StreamDecoder(fast=False)._reader._fast
    assert StreamDecoder()._reader._fast


def test_template_survives_varying_block_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real fragments hold 99, 100 or 101 frames: one template serves them all, bit-exact."""
    from siprec_recorder.media import template

    builds = []
    real_build = template.build
    monkeypatch.setattr(template, "build", lambda *a: builds.append(1) or real_build(*a))
    rng = np.random.default_rng(12)
    w = KvsStreamWriter(producer_tags={"TransactionId": "x"}, tags_after_cluster={"CallId": "y"})
    path = tmp_path / "v.mkv"
    at = 1_700_000_000_000
    with open(path, "wb") as f:
        for i in range(40):
            frames = (99, 100, 101, 100, 3)[i % 5]
            f.write(w.fragment(at, rng.integers(-9, 9, 160 * frames).astype(np.int16))[1])
            at += 20 * frames
    general, fast = both(path, 1 << 20)
    assert general == fast
    assert fast["tracks"][0][5] == 8 * 403  # frames  # type: ignore[index]
    assert len(builds) == 1


@settings(max_examples=25, deadline=None)
@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from([1, 2, 50, 67, 68]),  # frames in the fragment
            st.sampled_from(["A", "A", "B"]),  # TransactionId
            st.booleans(),  # id before the Cluster
            st.booleans(),  # id after the Cluster
            st.sampled_from([0, 0, 7, -7, 500, -300]),  # clock step to the next fragment
            st.booleans(),  # block jitter
        ),
        min_size=1,
        max_size=8,
    ),
    frame_ms=st.sampled_from([10, 20, 30]),
    cut=st.one_of(st.none(), st.floats(0.0, 1.0)),
    chunk=st.sampled_from([7, 333, 4096, 1 << 20]),
    filtered=st.booleans(),
)
def test_random_kvs_streams_identical(plan, frame_ms, cut, chunk, filtered) -> None:  # type: ignore[no-untyped-def]
    w = KvsStreamWriter(frame_ms=frame_ms)
    at, data = 1_700_000_000_000, b""
    for k, (frames, tid, before, after, step, jitter) in enumerate(plan):
        pcm = (
            np.random.default_rng(k).integers(-30000, 30000, 8 * frame_ms * frames).astype(np.int16)
        )
        data += w.fragment(
            at,
            pcm,
            producer_tags={"TransactionId": tid} if before else {"V": "1"},
            tags_after_cluster={"TransactionId": tid} if after else {},
            jitter_ms=[(k + i) % 7 - 3 for i in range(frames)] if jitter else None,
        )[1]
        at += frame_ms * frames + step
    if cut is not None:
        data = data[: max(1, int(len(data) * cut))]
    call_filter = CallFilter(transaction_id="A") if filtered else None
    results = []
    for fast in (False, True):
        r = decode_bytes(data, fast=fast, chunk=chunk, call_filter=call_filter)
        results.append(summary(r))
        r.close()
    assert results[0] == results[1]
