"""Decoding past damaged media: finding the next fragment, and the same decoder resuming there.

Expected audio is the source PCM the writer was given, with silence where the writer's
timestamps leave a hole; never the decoder's own output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siprec_recorder.errors import MediaError
from siprec_recorder.media.decode import StreamDecoder
from siprec_recorder.media.ebml import MAGIC, fragment_start_in
from siprec_recorder.media.results import CallFilter
from siprec_recorder.media.writer import KvsStreamWriter
from siprec_recorder.pipeline.resync import CHUNK, next_fragment, resume_after_errors

RATE = 8000
FRAG = 2 * RATE  # samples in a 2-second fragment
T0 = 1_700_000_000_000


def test_the_next_fragment_header_is_found_even_across_read_boundaries(tmp_path: Path) -> None:
    first, straddling = 100, CHUNK + 100 - 2  # the second header spans two 1 MiB reads
    data = bytearray(b"\x00" * (CHUNK + 400))
    data[first : first + 4] = MAGIC
    data[straddling : straddling + 4] = MAGIC
    raw = tmp_path / "raw.mkv"
    raw.write_bytes(bytes(data))
    assert next_fragment(raw, -1) == first
    assert next_fragment(raw, first) == straddling
    assert next_fragment(raw, straddling) is None


def pcm(seed: int, samples: int = FRAG) -> np.ndarray:
    return np.random.default_rng(seed).integers(-9000, 9000, samples, dtype=np.int16)


def damage(fragment: bytes) -> bytes:
    """The fragment with its Cluster's first 64 bytes overwritten (an invalid element size)."""
    at = fragment.find(bytes.fromhex("1F43B675"))
    assert at > 0
    return fragment[:at] + b"\xff" * 64 + fragment[at + 64 :]


def decode(
    tmp_path: Path, parts: list[bytes], fast: bool, chunk: int = 1 << 30
) -> tuple[StreamDecoder, list[int]]:
    """Feed everything to one decoder as the pipeline does, then resume after errors."""
    raw = tmp_path / "raw.mkv"
    raw.write_bytes(b"".join(parts))
    data = raw.read_bytes()
    decoder = StreamDecoder(spool_dir=tmp_path, fast=fast)
    with pytest.raises(MediaError):
        for i in range(0, len(data), chunk):
            decoder.feed(data[i : i + chunk])
    decoder.close()
    return decoder, resume_after_errors(decoder, raw)


@pytest.mark.parametrize("fast", [True, False])
def test_the_audio_after_a_damaged_fragment_comes_after_a_counted_gap(
    tmp_path: Path, fast: bool
) -> None:
    w = KvsStreamWriter()
    a, b, c = pcm(1), pcm(2), pcm(3)
    f0 = w.fragment(T0, a)[1]
    f1 = damage(w.fragment(T0 + 2000, b)[1])
    f2 = w.fragment(T0 + 4000, c)[1]
    decoder, recovered = decode(tmp_path, [f0, f1, f2], fast)
    assert recovered == [len(f0) + len(f1)]  # byte offset of the fragment after the damage
    (track,) = decoder.result.tracks
    assert track.pcm is not None
    want = np.concatenate([a, np.zeros(FRAG, np.int16), c])
    np.testing.assert_array_equal(track.pcm.read_all(), want)
    assert (track.gaps, track.gap_ms, track.overlaps, track.frames) == (1, 2000.0, 0, 200)
    assert track.start_ns == T0 * 1_000_000
    assert decoder.error_offset is None  # the resumed part read to the end without error
    decoder.result.close()


def test_a_resumed_part_that_overlaps_keeps_the_earlier_audio(tmp_path: Path) -> None:
    """The timeline's rule: audio already placed wins, the overlapping frames are dropped."""
    w = KvsStreamWriter()
    a, c = pcm(4), pcm(5)
    f0 = w.fragment(T0, a)[1]
    f1 = damage(w.fragment(T0 + 2000, pcm(6))[1])
    f2 = w.fragment(T0 + 1500, c)[1]  # stamped 0.5 s before a ends
    decoder, recovered = decode(tmp_path, [f0, f1, f2], True)
    (track,) = decoder.result.tracks
    assert track.pcm is not None and recovered
    np.testing.assert_array_equal(track.pcm.read_all(), np.concatenate([a, c[RATE // 2 :]]))
    assert (track.overlaps, track.gaps) == (1, 0)
    decoder.result.close()


def test_a_resumed_part_past_the_gap_limit_is_refused(tmp_path: Path) -> None:
    """The decoder refuses gaps over 6 hours; a resumed part must not get around that (a
    damaged fragment followed by one stamped 7 hours on would write 7 hours of silence)."""
    w = KvsStreamWriter()
    a = pcm(7)
    f0 = w.fragment(T0, a)[1]
    f1 = damage(w.fragment(T0 + 2000, pcm(8))[1])
    f2 = w.fragment(T0 + 2000 + 7 * 3_600_000, pcm(9))[1]
    decoder, recovered = decode(tmp_path, [f0, f1, f2], True)
    (track,) = decoder.result.tracks
    assert track.pcm is not None and recovered == []
    np.testing.assert_array_equal(track.pcm.read_all(), a)
    assert (track.gaps, track.frames) == (0, 100)  # the refused frame is not counted either
    assert decoder.error_offset == len(f0) + len(f1)
    decoder.result.close()


def test_a_resumed_part_at_another_rate_is_refused(tmp_path: Path) -> None:
    """The same track described again at 16 kHz: its samples are not placed at 8 kHz."""
    a = pcm(10)
    f0 = KvsStreamWriter().fragment(T0, a)[1]
    f1 = damage(KvsStreamWriter().fragment(T0 + 2000, pcm(11))[1])
    f2 = KvsStreamWriter(sample_rate=16000).fragment(T0 + 4000, pcm(12, 2 * FRAG))[1]
    decoder, recovered = decode(tmp_path, [f0, f1, f2], True)
    (track,) = decoder.result.tracks
    assert track.pcm is not None and recovered == []
    np.testing.assert_array_equal(track.pcm.read_all(), a)
    decoder.result.close()


def test_damage_before_any_audio_still_gives_every_later_fragment(tmp_path: Path) -> None:
    w = KvsStreamWriter()
    f0 = damage(w.fragment(T0, pcm(13))[1])
    b, c = pcm(14), pcm(15)
    f1, f2 = w.fragment(T0 + 2000, b)[1], w.fragment(T0 + 4000, c)[1]
    decoder, recovered = decode(tmp_path, [f0, f1, f2], True)
    assert recovered == [len(f0)]
    (track,) = decoder.result.tracks
    assert track.pcm is not None and track.start_ns == (T0 + 2000) * 1_000_000
    np.testing.assert_array_equal(track.pcm.read_all(), np.concatenate([b, c]))
    decoder.result.close()


def test_resume_is_only_for_a_decoder_stopped_by_an_error(tmp_path: Path) -> None:
    decoder = StreamDecoder(spool_dir=tmp_path)
    decoder.feed(KvsStreamWriter().fragment(T0, pcm(16))[1])
    decoder.close()
    with pytest.raises(RuntimeError, match="media error"):
        decoder.resume(0)
    decoder.result.close()


def _block(fragment: bytes, index: int) -> int:
    """Offset of the index-th SimpleBlock of a writer fragment (20 ms blocks of 8 kHz L16: id
    0xA3, an 8-byte size 0x0100000000000144 = 324, then track, timecode, flags, 320 bytes)."""
    head = bytes.fromhex("A30100000000000144")
    at = fragment.find(head)
    for _ in range(index):
        assert fragment[at + STRIDE : at + STRIDE + len(head)] == head
        at += STRIDE
    return at


STRIDE = 1 + 8 + 324


@pytest.mark.parametrize("fast", [True, False])
def test_a_block_whose_size_swallows_another_calls_fragments_leaks_none_of_them(
    tmp_path: Path, fast: bool
) -> None:
    """A reused stream: our call, another call's fragments, our call again. One damaged size
    byte makes our block 95 claim the other call's next fragment: read as one 'frame', its
    bytes were our call's audio. Now the block is damage, decoding resumes at the next
    fragment (the other call's: filtered out) and ours continue after a counted gap."""
    ours = KvsStreamWriter(producer_tags={"TransactionId": "ours"})
    other = KvsStreamWriter(producer_tags={"TransactionId": "other"})
    a, b, c = pcm(20), pcm(21), pcm(22)
    f0 = ours.fragment(T0, a)[1]
    f1 = bytearray(ours.fragment(T0 + 2000, b)[1])
    g0 = other.fragment(T0 + 4000, pcm(23))[1]
    f2 = ours.fragment(T0 + 6000, c)[1]
    at = _block(bytes(f1), 95)
    swallow = len(f1) - (at + 9) + 400  # past the other call's EBML header
    f1[at + 1 : at + 9] = ((1 << 56) | swallow).to_bytes(8, "big")
    raw = tmp_path / "raw.mkv"
    raw.write_bytes(f0 + bytes(f1) + g0 + f2)
    decoder = StreamDecoder(
        spool_dir=tmp_path, fast=fast, call_filter=CallFilter(transaction_id="ours")
    )
    with pytest.raises(MediaError, match="runs into a fragment starting at offset"):
        decoder.feed(raw.read_bytes())
    decoder.close()
    # resumed at the next fragment: the other call's (filtered out), then ours
    assert resume_after_errors(decoder, raw) == [len(f0) + len(f1)]
    (track,) = decoder.result.tracks
    assert track.pcm is not None
    kept = 95 * 160  # block 95 and the rest of f1 are lost, never read as audio
    want = np.concatenate([a, b[:kept], np.zeros(2 * FRAG - kept, np.int16), c])
    np.testing.assert_array_equal(track.pcm.read_all(), want)
    decoder.result.close()


@pytest.mark.parametrize("chunk", [1 << 30, 5])
@pytest.mark.parametrize("fast", [True, False])
def test_an_unknown_element_whose_size_swallows_a_fragment_is_damage(
    tmp_path: Path, fast: bool, chunk: int
) -> None:
    """f1's Tags after its Cluster, id and size damaged: skipped as an unknown element, it took
    f2 with it, with no error (f2's audio silently gone). Now f2 is decoded after a resync, also
    when the fragment header inside the skipped bytes is split between two feeds."""
    w = KvsStreamWriter(tags_after_cluster={"TransactionId": "t"})
    parts = [pcm(30 + k) for k in range(4)]
    f = [bytearray(w.fragment(T0 + 2000 * k, p)[1]) for k, p in enumerate(parts)]
    at = f[1].rfind(bytes.fromhex("1254C367"))
    size = len(f[1]) - (at + 8) + len(f[2])
    f[1][at : at + 8] = bytes.fromhex("1254C368") + (0x10000000 | size).to_bytes(4, "big")
    decoder, recovered = decode(tmp_path, [bytes(x) for x in f], fast, chunk)
    assert recovered == [len(f[0]) + len(f[1])]
    (track,) = decoder.result.tracks
    assert track.pcm is not None
    np.testing.assert_array_equal(track.pcm.read_all(), np.concatenate(parts))
    decoder.result.close()


def test_a_fragment_start_is_its_id_a_size_and_ebml_version() -> None:
    header = MAGIC + bytes([0xA3, 0x42, 0x86])  # as KVS writes it: a one-byte size
    long_size = MAGIC + bytes.fromhex("0100000000000023") + bytes([0x42, 0x86])
    audio = bytes(range(256)) * 4
    assert fragment_start_in(audio + header + audio, 0, 3000) == len(audio)
    assert fragment_start_in(audio + long_size, 0, 3000) == len(audio)
    assert fragment_start_in(audio + MAGIC + bytes([0xA3, 0x42, 0x87]), 0, 3000) == -1
    assert fragment_start_in(audio + MAGIC + bytes([0xA3, 0x42]), 0, 3000) == -1  # not all there
    assert fragment_start_in(audio + header, 0, len(audio)) == -1  # begins after the range
    assert fragment_start_in(audio + header, 0, len(audio) + 1) == len(audio)  # at its end
    assert fragment_start_in(audio + MAGIC + b"\x00\x42\x86", 0, 3000) == -1  # no size
