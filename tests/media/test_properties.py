"""Property tests: chunking never changes the output; corrupted input never hangs or crashes.

The inputs are a writer stream (tags before and after the cluster, jitter, a cut), a real KVS
capture and a hand-made laced file, so every branch of the reader is exercised.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siprec_recorder.errors import MediaError
from siprec_recorder.media.decode import StreamDecoder
from siprec_recorder.media.results import CallFilter
from siprec_recorder.media.writer import KvsStreamWriter
from tests.conftest import KVS_SAMPLES
from tests.media.helpers import (
    audio_track,
    block_body,
    el,
    read_events,
    simple_file,
    summary,
    uint_el,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def inputs() -> dict[str, bytes]:
    rng = np.random.default_rng(9)
    w = KvsStreamWriter(producer_tags={"TransactionId": "t1"}, tags_after_cluster={"CallId": "c"})
    stream = b"".join(
        w.fragment(
            1_700_000_000_000 + 400 * i,
            rng.integers(-999, 999, 3200).astype(np.int16),
            jitter_ms=rng.integers(-3, 4, 20).tolist(),
        )[1]
        for i in range(4)
    )
    pieces = [rng.integers(-99, 99, n).astype("<i2").tobytes() for n in (80, 200, 160, 40)]
    laced = simple_file(
        audio_track(1, "a"),
        uint_el(0xE7, 0)
        + el(0xA3, block_body(1, 0, pieces[:2], "xiph"))
        + el(0xA3, block_body(1, 35, pieces[2:], "ebml")),
    )
    return {
        "writer": stream[:-150],  # cut inside the last fragment's trailing tags
        "mixed_tags": (KVS_SAMPLES / "test_mixed_tags.mkv").read_bytes(),
        "laced": laced,
    }


def feed_in_chunks(data: bytes, cuts: list[int], *, fast: bool) -> dict[str, object]:
    dec = StreamDecoder(
        fast=fast, call_filter=CallFilter(transaction_id="t1") if b"t1" in data else None
    )
    pos = 0
    for cut in sorted(set(cuts)):
        dec.feed(data[pos:cut])
        pos = cut
    dec.feed(data[pos:])
    result = dec.close()
    out = summary(result)
    result.close()
    return out


@pytest.mark.parametrize("name", ["writer", "mixed_tags", "laced"])
@SETTINGS
@given(data=st.data())
def test_chunking_does_not_change_anything(name: str, data: st.DataObject) -> None:
    raw = inputs()[name]
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    fast = data.draw(st.booleans())
    reference = feed_in_chunks(raw, [], fast=False)
    assert feed_in_chunks(raw, cuts, fast=fast) == reference
    chunk = data.draw(st.integers(1, 4096))
    assert read_events(raw, fast=fast, chunk=chunk) == read_events(raw, fast=False)


def _check_bounded(raw: bytes, fast: bool) -> None:
    start = time.perf_counter()
    try:
        read_events(raw, fast=fast, chunk=997)
    except MediaError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 300
    try:
        dec = StreamDecoder(fast=fast, max_gap_seconds=60)
        dec.feed(raw)
        dec.close().close()
    except MediaError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 300
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("name", ["writer", "mixed_tags", "laced"])
@SETTINGS
@given(data=st.data())
def test_corruption_only_raises_media_error(name: str, data: st.DataObject) -> None:
    raw = bytearray(inputs()[name])
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        kind = data.draw(st.sampled_from(["flip", "byte", "insert", "delete", "truncate"]))
        if kind == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "byte":
            raw[pos] = data.draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
        elif kind == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del raw[pos : pos + data.draw(st.integers(1, 16))]
        else:
            del raw[pos:]
        if not raw:
            raw = bytearray(b"\x1a")
    _check_bounded(bytes(raw), data.draw(st.booleans()))


@SETTINGS
@given(raw=st.binary(max_size=2000))
def test_garbage_only_raises_media_error(raw: bytes) -> None:
    _check_bounded(raw, True)
    _check_bounded(bytes.fromhex("1A45DFA3") + raw, False)
