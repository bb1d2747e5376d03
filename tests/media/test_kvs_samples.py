"""Every real KVS capture in ../shared/kvs-samples, checked against independent readings.

Expected counts, written down with how they were obtained:
- frames: `ffprobe -v error -count_packets -show_entries stream=nb_read_packets FILE`
  (clusters 444, equal-timecode 239, non-increasing-timecode 358, output_get_media 300,
  sparse_fragments 180, test_mixed_tags 100); empty-mkv-with-tags has no Cluster at all (ffprobe
  gives up on it; a hand walk of its 5729 bytes shows EBML, Segment, SeekHead, Void, Info, Tracks,
  Void, Tags and nothing else).
- fragments: top-level EBML headers in a hand EBML walk (offsets of the equal-timecode file: 0 and
  639613; of the non-increasing one: 0, 162454, ... 1760533, every 159808 bytes after the first).
- truncation: the last SimpleBlock of equal-timecode starts at 1272988 with a 6028-byte body
  (ends at 1279019 > file size 1274359); of non-increasing-timecode at 1912925 with 6672 bytes
  (ends past 1916047). Both files end in the middle of that block.
- tag values: `mkvinfo -v` and the hand walk.
PyAV (FFmpeg's demuxer) is also run live: every packet's bytes must equal our frame payloads.
"""

from __future__ import annotations

import av
import pytest

from siprec_recorder.media.events import (
    FragmentEnded,
    FragmentStarted,
    FragmentTags,
    TrackEntry,
    Truncated,
)
from tests.conftest import KVS_SAMPLES
from tests.media.helpers import decode_bytes, frames, read_events

EXPECTED = {
    # name: (fragments, frames, truncated_at)
    "clusters.mkv": (1, 444, None),
    "empty-mkv-with-tags.mkv": (1, 0, None),
    "output-get-media-equal-timecode.mkv": (2, 239, 1272988),
    "output-get-media-non-increasing-timecode.mkv": (12, 358, 1912925),
    "output_get_media.mkv": (5, 300, None),
    "output_get_media_sparse_fragments.mkv": (3, 180, None),
    "test_mixed_tags.mkv": (10, 100, None),
}
FAST = [pytest.param(False, id="general"), pytest.param(True, id="fast")]


def test_every_sample_is_listed() -> None:
    assert sorted(p.name for p in KVS_SAMPLES.glob("*.mkv")) == sorted(EXPECTED)


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_and_truncation(name: str, fast: bool) -> None:
    n_fragments, n_frames, cut = EXPECTED[name]
    data = (KVS_SAMPLES / name).read_bytes()
    events = read_events(data, fast=fast, chunk=65536)
    starts = [e for e in events if isinstance(e, FragmentStarted)]
    ended = [e for e in events if isinstance(e, FragmentEnded)]
    truncs = [e for e in events if isinstance(e, Truncated)]
    assert len(starts) == n_fragments
    assert len(frames(events)) == n_frames
    assert [t.offset for t in truncs] == ([cut] if cut is not None else [])
    # a cut fragment is started but never ended; the others end where the next one starts
    assert len(ended) == n_fragments - (1 if cut is not None else 0)
    for a, b in zip(ended, starts[1:], strict=False):
        assert a.end == b.offset
    if cut is None:
        assert ended[-1].end == len(data)
    result = decode_bytes(data, fast=fast)
    assert (result.fragments, result.truncated, result.truncated_at) == (
        n_fragments,
        cut is not None,
        cut,
    )
    assert [t.frames for t in result.tracks] == ([n_frames] if n_frames else [0])
    assert all(t.pcm is None and t.samples == 0 for t in result.tracks)  # video: listed, no audio


def test_fragment_offsets_of_non_increasing_file() -> None:
    data = (KVS_SAMPLES / "output-get-media-non-increasing-timecode.mkv").read_bytes()
    starts = [e.offset for e in read_events(data, fast=False) if isinstance(e, FragmentStarted)]
    assert starts[:3] == [0, 162454, 322261]  # hand walk
    assert starts[-1] == 1760533
    assert all(b - a == 159808 for a, b in zip(starts[2:], starts[3:], strict=False))


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n != "empty-mkv-with-tags.mkv"))
def test_payloads_match_pyav(name: str) -> None:
    path = KVS_SAMPLES / name
    with av.open(str(path)) as container:
        packets = [bytes(p) for p in container.demux(container.streams[0]) if p.size]
    ours = [f.payload for f in frames(read_events(path.read_bytes(), fast=True))]
    assert ours == packets


def test_get_media_tags_and_times() -> None:
    events = read_events((KVS_SAMPLES / "output_get_media.mkv").read_bytes(), fast=False)
    tags = [e for e in events if isinstance(e, FragmentTags) and e.index == 0]
    kvs = next(t.tags for t in tags if "AWS_KINESISVIDEO_FRAGMENT_NUMBER" in t.tags)
    assert (
        kvs["AWS_KINESISVIDEO_FRAGMENT_NUMBER"] == "91343852333181432392682062607743920146159169392"
    )
    assert kvs["AWS_KINESISVIDEO_SERVER_TIMESTAMP"] == "1511852109.126"
    assert kvs["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"] == "1511852108.513"
    after = [t for t in tags if t.after_cluster]
    assert after and after[0].tags["AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"] == "15858"
    assert (
        after[0].tags["AWS_KINESISVIDEO_CONTINUATION_TOKEN"]
        == kvs["AWS_KINESISVIDEO_FRAGMENT_NUMBER"]
    )
    # frame times: producer timestamp + block timecode (mkvinfo: 0 and 33 ms)
    times = [f.time_ns for f in frames(events)[:2]]
    assert times == [1511852108_513_000_000, 1511852108_546_000_000]
    tracks = [e for e in events if isinstance(e, TrackEntry)]
    assert len(tracks) == 5 and {t.codec_id for t in tracks} == {"V_MPEG4/ISO/AVC"}


def test_every_fragment_starts_at_its_producer_timestamp() -> None:
    """Cluster timecodes reset between fragments (10014, then 0...): times follow the tags."""
    events = read_events(
        (KVS_SAMPLES / "output-get-media-non-increasing-timecode.mkv").read_bytes(), fast=True
    )
    producer: dict[int, int] = {}
    first: dict[int, int] = {}
    current = -1
    for e in events:
        if isinstance(e, FragmentStarted):
            current = e.index
        elif isinstance(e, FragmentTags) and "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP" in e.tags:
            whole, frac = e.tags["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"].split(".")
            producer[current] = int(whole) * 10**9 + int(frac) * 10**6
        elif hasattr(e, "time_ns") and current not in first:
            first[current] = e.time_ns  # type: ignore[attr-defined]
    assert len(first) == 12
    assert all(first[i] == producer[i] for i in first)


def test_mixed_tags_before_and_after_cluster() -> None:
    events = read_events((KVS_SAMPLES / "test_mixed_tags.mkv").read_bytes(), fast=False)
    frag0 = [e for e in events if isinstance(e, FragmentTags) and e.index == 0]
    before = {k: v for e in frag0 if not e.after_cluster for k, v in e.tags.items()}
    after = {k: v for e in frag0 if e.after_cluster for k, v in e.tags.items()}
    for i in range(5):
        assert before[f"testTag_{i}"] == f"testTag_{i}_Value"
        assert after[f"testTag_{i}"] == f"testTag_{i}_Value"
    assert before["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"] == "0.000"
    assert after["AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"] == "910"
    assert (
        after["AWS_KINESISVIDEO_CONTINUATION_TOKEN"]
        == "91343852333713038908964877623801423530396737899"
    )
    track = next(e for e in events if isinstance(e, TrackEntry))
    assert (track.name, track.codec_id) == ("test track", "V_MS/VFW/FOURCC")  # NUL padding removed


def test_empty_fragment_tags() -> None:
    events = read_events((KVS_SAMPLES / "empty-mkv-with-tags.mkv").read_bytes(), fast=False)
    tags = next(e.tags for e in events if isinstance(e, FragmentTags))
    assert (
        tags["AWS_KINESISVIDEO_FRAGMENT_NUMBER"]
        == "91343852338378294813695855977007281634605393997"
    )
    assert tags["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"] == "1515865326.543"
    assert not frames(events)
