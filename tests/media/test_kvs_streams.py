"""KVS/Chime-style streams from writer.py: reused streams, filters, gaps, overlaps, jitter, cuts.

Expected PCM is built here from the samples handed to the writer, placed by hand on the wall
clock (silence for a missing stretch, the overlapped head of a fragment dropped).
"""

from __future__ import annotations

import numpy as np
import pytest

from siprec_recorder.errors import KvsServiceError
from siprec_recorder.media.results import CallFilter
from siprec_recorder.media.writer import KvsStreamWriter
from tests.media.helpers import decode_bytes

FAST = [pytest.param(False, id="general"), pytest.param(True, id="fast")]
T0 = 1_700_000_000_000  # producer ms of the first fragment
FRAG = 16000  # samples in a 2 s fragment at 8 kHz


def noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-20000, 20000, n).astype(np.int16)


def pcm_of(result, index: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    spool = result.tracks[index].pcm
    assert spool is not None
    return spool.read_all()


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("where", ["before", "after", "both"])
def test_reused_stream_keeps_only_the_call(fast: bool, where: str) -> None:
    """Call A (3 fragments), call B (2), call A again (2): A's audio has B's 4 s as silence."""
    ids = ["A", "A", "A", "B", "B", "A", "A"]
    parts = [noise(FRAG, i) for i in range(len(ids))]
    data = b""
    for i, (tid, pcm) in enumerate(zip(ids, parts, strict=True)):
        tags = {"TransactionId": tid, "VoiceConnectorId": "vc1"}
        before = tags if where in ("before", "both") else {"VoiceConnectorId": "vc1"}
        after = {"TransactionId": tid} if where in ("after", "both") else {}
        w = KvsStreamWriter(first_fragment_number=100 + i)
        data += w.fragment(T0 + 2000 * i, pcm, producer_tags=before, tags_after_cluster=after)[1]
    result = decode_bytes(data, fast=fast, chunk=3001, call_filter=CallFilter(transaction_id="A"))
    assert (result.fragments, result.skipped_fragments) == (7, 2)
    expected = np.concatenate(parts[:3] + [np.zeros(2 * FRAG, np.int16)] + parts[5:])
    assert np.array_equal(pcm_of(result), expected)
    t = result.tracks[0]
    assert (t.frames, t.gaps, t.gap_ms, t.overlaps) == (500, 1, 4000.0, 0)
    assert t.start_ns == T0 * 1_000_000
    assert result.tags["VoiceConnectorId"] == "vc1"
    assert not any(k.startswith("AWS_KINESISVIDEO") for k in result.tags)
    only_b = decode_bytes(data, fast=fast, call_filter=CallFilter(transaction_id="B"))
    assert only_b.skipped_fragments == 5 and only_b.tracks[0].frames == 200
    assert np.array_equal(pcm_of(only_b), np.concatenate(parts[3:5]))
    assert only_b.tracks[0].start_ns == (T0 + 6000) * 1_000_000


@pytest.mark.parametrize("fast", FAST)
def test_call_and_contact_filters(fast: bool) -> None:
    data = b""
    parts = [noise(FRAG, 10 + i) for i in range(3)]
    for i, pcm in enumerate(parts):
        tags = {"CallId": f"call-{i % 2}", "ContactId": "contact-x"}
        data += KvsStreamWriter(producer_tags=tags).fragment(T0 + 2000 * i, pcm)[1]
    r = decode_bytes(data, fast=fast, call_filter=CallFilter(call_id="call-1"))
    assert r.skipped_fragments == 2 and np.array_equal(pcm_of(r), parts[1])
    r = decode_bytes(
        data, fast=fast, call_filter=CallFilter(contact_id="contact-x", call_id="call-0")
    )
    assert r.skipped_fragments == 1
    assert np.array_equal(pcm_of(r), np.concatenate([parts[0], np.zeros(FRAG, np.int16), parts[2]]))
    r = decode_bytes(data, fast=fast, call_filter=CallFilter(contact_id="nobody"))
    assert (r.skipped_fragments, r.tracks) == (3, [])


@pytest.mark.parametrize("fast", FAST)
def test_missing_fragment_is_a_gap_of_silence(fast: bool) -> None:
    w = KvsStreamWriter(producer_tags={"TransactionId": "t"})
    a, b = noise(FRAG, 1), noise(FRAG, 2)
    data = w.fragment(T0, a)[1] + w.fragment(T0 + 6000, b)[1]  # 2000..6000 never arrived
    r = decode_bytes(data, fast=fast)
    assert np.array_equal(pcm_of(r), np.concatenate([a, np.zeros(2 * FRAG, np.int16), b]))
    assert (r.tracks[0].gaps, r.tracks[0].gap_ms, r.tracks[0].samples) == (1, 4000.0, 4 * FRAG)


@pytest.mark.parametrize("fast", FAST)
def test_a_hold_of_several_minutes_is_written_as_silence_and_the_audio_follows(fast: bool) -> None:
    """A gap longer than the timeline's 1 MiB buffer (65 s at 8 kHz) goes straight to the spool
    as silence: the audio after it must still start exactly 5 minutes later."""
    w = KvsStreamWriter()
    a, b = noise(FRAG, 5), noise(FRAG, 6)
    data = w.fragment(T0, a)[1] + w.fragment(T0 + 2000 + 300_000, b)[1]
    r = decode_bytes(data, fast=fast)
    hold = 300 * 8000
    assert np.array_equal(pcm_of(r), np.concatenate([a, np.zeros(hold, np.int16), b]))
    assert (r.tracks[0].gaps, r.tracks[0].gap_ms, r.tracks[0].samples) == (
        1,
        300_000.0,
        2 * FRAG + hold,
    )


@pytest.mark.parametrize("fast", FAST)
def test_a_fragment_is_placed_at_the_nearest_sample(fast: bool) -> None:
    """At 44.1 kHz a millisecond is 44.1 samples: a fragment 2105 ms after the first starts at
    sample 2.105 x 44100 = 92830.5, placed at the nearest sample rounding half up (92831), not
    truncated (92830): the gap is 4631 samples."""
    w = KvsStreamWriter(sample_rate=44100)
    a, b = noise(88200, 7), noise(88200, 8)
    r = decode_bytes(w.fragment(T0, a)[1] + w.fragment(T0 + 2105, b)[1], fast=fast)
    assert np.array_equal(pcm_of(r), np.concatenate([a, np.zeros(4631, np.int16), b]))


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize(("start_ms", "dropped"), [(1985, 120), (1900, 800), (1991, 0)])
def test_overlap_drops_the_overlapping_samples(fast: bool, start_ms: int, dropped: int) -> None:
    """A fragment that starts before the previous one ended: its first samples are dropped.

    1991 ms overlaps by 9 ms = 72 samples, within half a frame (80 samples): contiguous.
    """
    w = KvsStreamWriter()
    a, b = noise(FRAG, 3), noise(FRAG, 4)
    data = w.fragment(T0, a)[1] + w.fragment(T0 + start_ms, b)[1]
    r = decode_bytes(data, fast=fast)
    assert np.array_equal(pcm_of(r), np.concatenate([a, b[dropped:]]))
    t = r.tracks[0]
    assert (t.overlaps, t.overlap_ms, t.gaps) == ((1, dropped / 8, 0) if dropped else (0, 0.0, 0))


@pytest.mark.parametrize("fast", FAST)
def test_millisecond_jitter_is_contiguous(fast: bool) -> None:
    rng = np.random.default_rng(5)
    w = KvsStreamWriter()
    parts = [noise(FRAG, 20 + i) for i in range(3)]
    jitter = rng.integers(-9, 10, (3, 100))
    jitter[0, 0] = 0  # sample 0 defines the clock origin; every later frame is placed against it
    data = b"".join(
        w.fragment(T0 + 2000 * i, p, jitter_ms=jitter[i].tolist())[1] for i, p in enumerate(parts)
    )
    r = decode_bytes(data, fast=fast)
    assert np.array_equal(pcm_of(r), np.concatenate(parts))
    assert (r.tracks[0].gaps, r.tracks[0].overlaps, r.tracks[0].frames) == (0, 0, 300)


@pytest.mark.parametrize("fast", FAST)
def test_late_frame_beyond_tolerance_is_a_gap(fast: bool) -> None:
    """One 20 ms frame stamped 12 ms late (> 10 ms): 96 samples of silence, then the next frame's
    first 96 samples overlap and are dropped, so the clock is exact again."""
    pcm = noise(FRAG, 30)
    jitter = [0] * 100
    jitter[50] = 12
    r = decode_bytes(KvsStreamWriter().fragment(T0, pcm, jitter_ms=jitter)[1], fast=fast)
    expected = np.concatenate(
        [pcm[:8000], np.zeros(96, np.int16), pcm[8000:8160], pcm[8160 + 96 :]]
    )
    assert np.array_equal(pcm_of(r), expected)
    t = r.tracks[0]
    assert (t.gaps, t.gap_ms, t.overlaps, t.overlap_ms) == (1, 12.0, 1, 12.0)


def _three_fragments() -> tuple[list[bytes], list[np.ndarray]]:
    w = KvsStreamWriter(tags_after_cluster={"TransactionId": "cut"})
    parts = [
        np.round(8000 * np.sin(np.arange(FRAG) * (0.01 + i / 100))).astype(np.int16)
        for i in range(3)
    ]
    return [w.fragment(T0 + 2000 * i, p)[1] for i, p in enumerate(parts)], parts


@pytest.mark.parametrize("fast", FAST)
def test_cut_inside_the_last_block(fast: bool) -> None:
    frags, parts = _three_fragments()
    last = frags[2]
    tags_at = last.rfind(bytes.fromhex("1254C367"))  # the final Tags (MILLIS_BEHIND_NOW...)
    tags_at = last.rfind(bytes.fromhex("1254C367"), 0, tags_at)  # the producer Tags before it
    block_at = tags_at - 333  # SimpleBlock: 1-byte id, 8-byte size, 4-byte header, 320 bytes
    assert last[block_at] == 0xA3 and last[block_at + 1] == 0x01
    data = frags[0] + frags[1] + last[: block_at + 100]
    r = decode_bytes(data, fast=fast, chunk=777)
    assert (r.truncated, r.truncated_at) == (True, len(frags[0]) + len(frags[1]) + block_at)
    assert r.fragments == 3 and r.tracks[0].frames == 299
    assert np.array_equal(pcm_of(r), np.concatenate([parts[0], parts[1], parts[2][: 99 * 160]]))
    # with a filter whose id stands only after the cluster, the cut fragment cannot be kept
    r = decode_bytes(data, fast=fast, call_filter=CallFilter(transaction_id="cut"))
    assert (r.skipped_fragments, r.tracks[0].frames, r.truncated) == (1, 200, True)


@pytest.mark.parametrize("fast", FAST)
def test_cut_inside_the_tags_after_the_cluster(fast: bool) -> None:
    frags, parts = _three_fragments()
    cut = len(frags[2]) - 20
    r = decode_bytes(frags[0] + frags[1] + frags[2][:cut], fast=fast)
    assert r.truncated and r.tracks[0].frames == 300
    assert np.array_equal(pcm_of(r), np.concatenate(parts))


@pytest.mark.parametrize("fast", FAST)
def test_tracks_are_matched_by_name_across_fragments(fast: bool) -> None:
    a, b = noise(FRAG, 40), noise(FRAG, 41)
    data = KvsStreamWriter(track_number=1).fragment(T0, a)[1]
    data += KvsStreamWriter(track_number=2).fragment(T0 + 2000, b)[1]
    r = decode_bytes(data, fast=fast)
    assert len(r.tracks) == 1 and r.tracks[0].name == "AUDIO"
    assert np.array_equal(pcm_of(r), np.concatenate([a, b]))


@pytest.mark.parametrize("fast", FAST)
def test_big_endian_pcm(fast: bool) -> None:
    pcm = noise(FRAG, 50)
    data = KvsStreamWriter(codec_id="A_PCM/INT/BIG").fragment(T0, pcm)[1]
    assert pcm.astype(">i2").tobytes()[:320] in data  # stored big-endian
    assert np.array_equal(pcm_of(decode_bytes(data, fast=fast)), pcm)


@pytest.mark.parametrize("fast", FAST)
def test_kvs_error_tag_is_a_clear_error(fast: bool) -> None:
    w = KvsStreamWriter()
    good = w.fragment(T0, noise(FRAG, 60))[1]
    bad = w.fragment(
        T0 + 2000,
        noise(FRAG, 61),
        producer_tags={"AWS_KINESISVIDEO_ERROR_CODE": "4504", "AWS_KINESISVIDEO_ERROR_ID": "7"},
    )[1]
    with pytest.raises(KvsServiceError, match="4504") as info:
        decode_bytes(good + bad, fast=fast)
    assert "\n" not in str(info.value) and info.value.code == "kvs_error"


@pytest.mark.parametrize("fast", FAST)
def test_tracks_of_skipped_calls_are_not_listed(fast: bool) -> None:
    """A reused stream: another call's fragments used a differently named track."""
    other = KvsStreamWriter(
        track_name="OTHER", track_number=2, producer_tags={"TransactionId": "B"}
    )
    ours = KvsStreamWriter(producer_tags={"TransactionId": "A"})
    a = noise(FRAG, 70)
    data = other.fragment(T0, noise(FRAG, 71))[1] + ours.fragment(T0 + 2000, a)[1]
    r = decode_bytes(data, fast=fast, call_filter=CallFilter(transaction_id="A"))
    assert [t.name for t in r.tracks] == ["AUDIO"] and r.skipped_fragments == 1
    assert np.array_equal(pcm_of(r), a)


@pytest.mark.parametrize("fast", FAST)
def test_frames_stamped_25_ms_apart_drift_into_counted_gaps(fast: bool) -> None:
    """Evenly spaced blocks whose spacing (25 ms) is not their length (20 ms): each frame is
    placed at its own time under the tolerance rule (contiguous within max(half a frame, 2 ms)
    = 80 samples of where the audio ends, else a gap), so every third frame opens a gap.
    (A run is only appended whole when its spacing equals the frame length.)"""
    w = KvsStreamWriter()
    parts = [noise(1600, 9 + k) for k in range(4)]  # fragments of 10 frames, 250 ms apart
    spread = [5 * i for i in range(10)]
    data = b"".join(w.fragment(T0 + 250 * k, p, jitter_ms=spread)[1] for k, p in enumerate(parts))
    r = decode_bytes(data, fast=fast)
    want: list[np.ndarray] = []
    position = gaps = 0
    for k, p in enumerate(parts):  # the documented rule, frame by frame
        for i in range(10):
            delta = 2000 * k + 200 * i - position  # stamped at 250 k + 25 i ms
            if delta > 80:
                want.append(np.zeros(delta, np.int16))
                position += delta
                gaps += 1
            want.append(p[160 * i : 160 * (i + 1)])
            position += 160
    assert np.array_equal(pcm_of(r), np.concatenate(want))
    assert r.tracks[0].gaps == gaps > 10


@pytest.mark.parametrize("fast", FAST)
def test_an_odd_length_l16_payload_loses_its_last_byte_not_the_sample_alignment(fast: bool) -> None:
    """A 321-byte L16 frame (a producer bug or damage) holds 160 whole samples: the odd byte is
    dropped, so every later sample still starts on an even byte (else all the audio after it
    would be noise)."""
    w = KvsStreamWriter()
    a, b = noise(FRAG, 10), noise(FRAG, 11)
    first = bytearray(w.fragment(T0, a)[1])
    head = bytes.fromhex("A30100000000000144")  # the first block: id, 8-byte size 324
    at = first.find(head)
    first[at : at + 9] = bytes.fromhex("A30100000000000145")  # size 325
    first[at + 9 + 324 : at + 9 + 324] = b"\x7f"  # one stray byte after its 320 bytes of audio
    r = decode_bytes(bytes(first) + w.fragment(T0 + 2000, b)[1], fast=fast)
    assert np.array_equal(pcm_of(r), np.concatenate([a, b]))
