"""Hostile or broken KVS media found by fuzzing: one clear MediaError, the same on both paths.

Fragments are built by hand from the Matroska spec (tests/media/helpers.py), laid out as KVS
writes them (EBML header, unknown-size Segment, producer Tags, Info, Tracks, an unknown-size
Cluster of SimpleBlocks, Tags), so that the fast path's template applies to them.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from siprec_recorder.errors import MediaError
from siprec_recorder.media.writer import KvsStreamWriter
from tests.media.helpers import (
    audio_track,
    decode_bytes,
    ebml_header,
    el,
    summary,
    uint_el,
    vint,
)

UNKNOWN = b"\x01\xff\xff\xff\xff\xff\xff\xff"
PCM = (np.arange(160 * 50) % 400 - 200).astype(np.int16)  # 1 s: 50 frames of 20 ms


def tags(name: str, value: str) -> bytes:
    simple = el(0x67C8, el(0x45A3, name.encode()) + el(0x4487, value.encode()))
    return el(0x1254C367, el(0x7373, simple))


def fragment(at_ms: int, tracks: bytes, *, stamp: str | None = None, frames: int = 50) -> bytes:
    """One KVS-style fragment of `frames` 20 ms blocks starting at producer time `at_ms`."""
    stamp = stamp if stamp is not None else f"{at_ms // 1000}.{at_ms % 1000:03d}"
    blocks = b"".join(
        el(
            0xA3,
            vint(1)
            + (20 * i).to_bytes(2, "big")
            + b"\x80"
            + PCM[160 * i : 160 * (i + 1)].tobytes(),
        )
        for i in range(frames)
    )
    cluster = bytes.fromhex("1F43B675") + UNKNOWN + uint_el(0xE7, at_ms) + blocks
    segment = (
        tags("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", stamp)
        + el(0x1549A966, uint_el(0x2AD7B1, 1_000_000))
        + tracks
        + cluster
        + tags("TransactionId", "t-1")
    )
    return ebml_header() + bytes.fromhex("18538067") + UNKNOWN + segment


def stream(tracks: bytes, starts_ms: list[int], **kw: object) -> bytes:
    return b"".join(fragment(at, tracks, **kw) for at in starts_ms)  # type: ignore[arg-type]


T0 = 1_700_000_000_000
ONE_TRACK = el(0x1654AE6B, audio_track(1, "AUDIO"))


def test_the_hand_built_stream_decodes_on_both_paths() -> None:
    """The control: the builder's fragments are valid, contiguous and templated alike."""
    data = stream(ONE_TRACK, [T0 + 1000 * k for k in range(4)])
    fast, general = (summary(decode_bytes(data, fast=f)) for f in (True, False))
    assert fast == general
    assert general["fragments"] == 4
    assert general["tracks"][0][-1] == np.tile(PCM, 4).astype("<i2").tobytes()  # type: ignore[index]


@pytest.mark.parametrize("rate", [math.inf, -math.inf, math.nan, 96_000.0, 0.4])
@pytest.mark.parametrize("fast", [False, True], ids=["general", "fast"])
def test_a_sampling_frequency_that_is_not_a_voice_rate_is_refused(fast: bool, rate: float) -> None:
    tracks = el(0x1654AE6B, audio_track(1, "AUDIO", rate=rate))
    with pytest.raises(MediaError, match="invalid sampling frequency"):
        decode_bytes(stream(tracks, [T0, T0 + 1000]), fast=fast)


@pytest.mark.parametrize("stamp", ["\u00b2", "1700000000.\u0663", "\u0661\u0667"])
@pytest.mark.parametrize("fast", [False, True], ids=["general", "fast"])
def test_a_producer_timestamp_with_non_ascii_digits_is_refused(fast: bool, stamp: str) -> None:
    """str.isdigit() accepts superscripts and Arabic-Indic digits; a KVS timestamp is ASCII."""
    with pytest.raises(MediaError, match="invalid KVS timestamp tag"):
        decode_bytes(stream(ONE_TRACK, [T0, T0 + 1000], stamp=stamp), fast=fast)


def test_a_fragment_with_two_tracks_elements_is_refused_the_same_on_both_paths() -> None:
    """Track 1 described as big-endian, then again as little-endian: whichever came first, its
    samples would be read one way while the file says the other. Both paths refuse it."""
    tracks = el(0x1654AE6B, audio_track(1, "AUDIO", codec="A_PCM/INT/BIG")) + ONE_TRACK
    data = stream(tracks, [T0 + 1000 * k for k in range(3)])
    errors = []
    for fast in (True, False):
        with pytest.raises(MediaError, match="changes format mid-stream") as got:
            decode_bytes(data, fast=fast)
        errors.append(str(got.value))
    assert errors[0] == errors[1] and "s16be 8000 Hz x1 -> s16le 8000 Hz x1" in errors[0]


@pytest.mark.parametrize("fast", [False, True], ids=["general", "fast"])
def test_a_track_described_again_at_another_rate_is_refused(fast: bool) -> None:
    """A later fragment gives the same track 16 kHz: its samples are not placed as 8 kHz."""
    first = KvsStreamWriter().fragment(T0, np.zeros(16000, np.int16))[1]
    later = KvsStreamWriter(sample_rate=16000).fragment(T0 + 2000, np.zeros(32000, np.int16))[1]
    with pytest.raises(MediaError, match="s16le 8000 Hz x1 -> s16le 16000 Hz x1"):
        decode_bytes(first + later, fast=fast)


@pytest.mark.parametrize("fast", [False, True], ids=["general", "fast"])
def test_far_apart_timestamps_cannot_ask_for_unbounded_silence(fast: bool) -> None:
    """Four one-second fragments, each 5 hours after the last: no single gap is over the
    6-hour limit, but together they would ask for 15 hours of silence (a 66 KB input for an
    860 MB file). Refused once the gaps pass 6 hours in total, before that silence is written."""
    hours = 3_600_000
    data = stream(ONE_TRACK, [T0 + k * 5 * hours for k in range(4)])
    assert len(data) < 70_000
    started = time.monotonic()
    with pytest.raises(MediaError, match="gaps of more than 21600 s in total"):
        decode_bytes(data, fast=fast)
    assert time.monotonic() - started < 5


def test_header_and_info_fields_that_would_misread_the_stream_are_refused() -> None:
    """A DocType other than Matroska/WebM, an EBMLReadVersion above 1 (a reader for version 1
    cannot read it), a TimecodeScale of 0 (every block at time 0); no TimecodeScale: the
    Matroska default of 1 ms."""
    from siprec_recorder.media import units

    def header(doctype: bytes, read_version: int) -> bytes:
        return el(0x4282, doctype) + uint_el(0x42F7, read_version)

    assert units.parse_ebml_header(header(b"webm", 1)) == "webm"
    with pytest.raises(MediaError, match="not a Matroska stream"):
        units.parse_ebml_header(header(b"mp4x", 1))
    with pytest.raises(MediaError, match="read version"):
        units.parse_ebml_header(header(b"matroska", 2))
    assert units.parse_info(b"") == 1_000_000
    assert units.parse_info(uint_el(0x2AD7B1, 100_000)) == 100_000
    with pytest.raises(MediaError, match="TimecodeScale"):
        units.parse_info(uint_el(0x2AD7B1, 0))
