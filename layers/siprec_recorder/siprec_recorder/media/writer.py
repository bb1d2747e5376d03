"""A Kinesis Video Streams / Chime-style MKV writer (for the simulator and the tests).

Each fragment is laid out the way KVS GetMedia returns it (checked against the real captures in
`../shared/kvs-samples`): EBML header; Segment of unknown size (8-byte size field); producer tags
(one Tags element each, 8-byte sizes); Info; Tracks (NUL-padded 32-byte name and codec id, as the
KVS C producer writes them); a Void; the KVS Tags (fragment number, server and producer timestamps,
4-byte sizes); a Cluster of unknown size with an 8-byte Timecode and SimpleBlocks; then the Tags
after the Cluster (optional producer tags, then MILLIS_BEHIND_NOW and CONTINUATION_TOKEN).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from siprec_recorder.media import ebml as e
from siprec_recorder.media.pcm import Int16Array

DEFAULT_FIRST_FRAGMENT_NUMBER = 91343852333181432392682062607743920146540000000
KVS_FRAGMENT_NUMBER = "AWS_KINESISVIDEO_FRAGMENT_NUMBER"
KVS_SERVER_TIMESTAMP = "AWS_KINESISVIDEO_SERVER_TIMESTAMP"
KVS_PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"
KVS_MILLIS_BEHIND_NOW = "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"
KVS_CONTINUATION_TOKEN = "AWS_KINESISVIDEO_CONTINUATION_TOKEN"  # noqa: S105 (a tag name)
_EMPTY: Mapping[str, str] = {}


@dataclass(frozen=True)
class FragmentInfo:
    """What a ListFragments call would say about one written fragment."""

    number: str
    producer_ms: int
    server_ms: int
    duration_ms: int
    size: int


def kvs_seconds(ms: int) -> str:
    """Epoch milliseconds as KVS writes timestamps in tags: decimal seconds with 3 decimals."""
    if ms < 0:
        raise ValueError("timestamps before the epoch are not written by KVS")
    return f"{ms // 1000}.{ms % 1000:03d}"


def _simple_tag(name: str, value: str, size_length: int) -> bytes:
    body = e.string_element(e.TAG_NAME, name, size_length=size_length) + e.string_element(
        e.TAG_STRING, value, size_length=size_length
    )
    return e.element(e.SIMPLE_TAG, body, size_length)


def tags_element(tags: Mapping[str, str], size_length: int = 4) -> bytes:
    """One Tags > Tag > SimpleTag* element (no Targets, as KVS writes its own tags)."""
    body = b"".join(_simple_tag(k, v, size_length) for k, v in tags.items())
    return e.element(e.TAGS, e.element(e.TAG, body, size_length), size_length)


def producer_tags_elements(tags: Mapping[str, str]) -> bytes:
    """Producer tags as the KVS producer SDK emits them: one Tags element per tag, 8-byte sizes."""
    return b"".join(tags_element({k: v}, size_length=8) for k, v in tags.items())


class KvsStreamWriter:
    """Writes one audio track as a sequence of KVS fragments (see the module docstring)."""

    def __init__(
        self,
        *,
        track_name: str = "AUDIO",
        codec_id: str = "A_PCM/INT/LIT",
        sample_rate: int = 8000,
        frame_ms: int = 20,
        fragment_ms: int = 2000,
        producer_tags: Mapping[str, str] = _EMPTY,
        tags_after_cluster: Mapping[str, str] | None = None,
        first_fragment_number: int = DEFAULT_FIRST_FRAGMENT_NUMBER,
        timecode_scale_ns: int = 1_000_000,
        track_number: int = 1,
    ) -> None:
        if sample_rate * frame_ms % 1000:
            raise ValueError("frame_ms must be a whole number of samples")
        self.track_name = track_name
        self.codec_id = codec_id
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.fragment_ms = fragment_ms
        self.producer_tags = dict(producer_tags)
        self.tags_after_cluster = dict(tags_after_cluster) if tags_after_cluster else None
        self.next_fragment_number = first_fragment_number
        self.timecode_scale_ns = timecode_scale_ns
        self.track_number = track_number
        self.frame_samples = sample_rate * frame_ms // 1000

    def _header(self) -> bytes:
        ebml_body = b"".join(
            [
                e.uint_element(e.EBML_VERSION, 1),
                e.uint_element(e.EBML_READ_VERSION, 1),
                e.uint_element(e.EBML_MAX_ID_LENGTH, 4),
                e.uint_element(e.EBML_MAX_SIZE_LENGTH, 8),
                e.string_element(e.DOC_TYPE, "matroska"),
                e.uint_element(e.DOC_TYPE_VERSION, 4),
                e.uint_element(e.DOC_TYPE_READ_VERSION, 2),
            ]
        )
        return e.element(e.EBML, ebml_body)

    def _info_and_tracks(self) -> bytes:
        info = e.element(
            e.INFO,
            e.uint_element(e.TIMECODE_SCALE, self.timecode_scale_ns, width=8)
            + e.string_element(e.MUXING_APP, "siprec-recorder-writer", pad_to=32)
            + e.string_element(e.WRITING_APP, "siprec-recorder-writer", pad_to=32),
        )
        audio = e.element(
            e.AUDIO,
            e.float_element(e.SAMPLING_FREQUENCY, float(self.sample_rate))
            + e.uint_element(e.CHANNELS, 1)
            + e.uint_element(e.BIT_DEPTH, 16),
        )
        entry = e.element(
            e.TRACK_ENTRY,
            e.uint_element(e.TRACK_NUMBER, self.track_number)
            + e.uint_element(e.TRACK_UID, 0x8205F0A1C3D2E4B7, width=8)
            + e.uint_element(e.TRACK_TYPE, 2)
            + e.string_element(e.TRACK_NAME, self.track_name, pad_to=32)
            + e.string_element(e.CODEC_ID, self.codec_id, pad_to=32)
            + audio,
            size_length=4,
        )
        tracks = e.element(e.TRACKS, entry, size_length=4)
        void = e.element(e.VOID, b"\x00" * 16, size_length=2)
        return info + tracks + void

    def _payload(self, pcm: Int16Array) -> bytes:
        if self.codec_id == "A_PCM/INT/BIG":
            return np.ascontiguousarray(pcm, dtype=">i2").tobytes()
        # A_PCM/INT/LIT (what Chime writes); any other codec id gets the raw bytes as given,
        # which lets tests build streams with codecs the reader must refuse.
        return np.ascontiguousarray(pcm, dtype="<i2").tobytes()

    def _ticks(self, ms: int) -> int:
        return ms * 1_000_000 // self.timecode_scale_ns

    def fragment(
        self,
        producer_ms: int,
        pcm: Int16Array,
        *,
        producer_tags: Mapping[str, str] | None = None,
        server_ms: int | None = None,
        tags_after_cluster: Mapping[str, str] | None = None,
        jitter_ms: Sequence[int] | None = None,
    ) -> tuple[FragmentInfo, bytes]:
        """One fragment exactly as GetMedia returns it; `jitter_ms` shifts each block's timecode."""
        samples = np.asarray(pcm, dtype=np.int16)
        duration_ms = len(samples) * 1000 // self.sample_rate
        number = str(self.next_fragment_number)
        self.next_fragment_number += 1
        server = server_ms if server_ms is not None else producer_ms + duration_ms + 120
        before = self.producer_tags if producer_tags is None else producer_tags
        after = self.tags_after_cluster if tags_after_cluster is None else tags_after_cluster
        kvs_tags = {
            KVS_FRAGMENT_NUMBER: number,
            KVS_SERVER_TIMESTAMP: kvs_seconds(server),
            KVS_PRODUCER_TIMESTAMP: kvs_seconds(producer_ms),
        }
        blocks = []
        track = e.encode_vint(self.track_number)
        for i, start in enumerate(range(0, len(samples), self.frame_samples)):
            offset = i * self.frame_ms + (jitter_ms[i] if jitter_ms and i < len(jitter_ms) else 0)
            tc = self._ticks(offset)
            if not -32768 <= tc <= 32767:
                raise ValueError("block timecode out of range: fragment too long for the scale")
            body = (
                track
                + struct.pack(">hB", tc, 0x80)
                + self._payload(samples[start : start + self.frame_samples])
            )
            blocks.append(e.element(e.SIMPLE_BLOCK, body, size_length=8))
        cluster = (
            e.encode_id(e.CLUSTER)
            + e.encode_size(e.UNKNOWN, 1)
            + e.element(e.TIMECODE, self._ticks(producer_ms).to_bytes(8, "big"))
            + b"".join(blocks)
        )
        after_tags = {KVS_MILLIS_BEHIND_NOW: "250", KVS_CONTINUATION_TOKEN: number}
        segment = (
            e.encode_id(e.SEGMENT)
            + e.encode_size(e.UNKNOWN, 8)
            + producer_tags_elements(before)
            + self._info_and_tracks()
            + tags_element(kvs_tags)
            + cluster
            + (producer_tags_elements(after) if after else b"")
            + tags_element(after_tags)
        )
        data = self._header() + segment
        info = FragmentInfo(number, producer_ms, server, duration_ms, len(data))
        return info, data

    def stream(self, start_ms: int, pcm: Int16Array) -> Iterator[tuple[FragmentInfo, bytes]]:
        """Split `pcm` into fragment_ms fragments with consecutive numbers and producer times."""
        step = self.sample_rate * self.fragment_ms // 1000
        samples = np.asarray(pcm, dtype=np.int16)
        for k, start in enumerate(range(0, len(samples), step)):
            yield self.fragment(start_ms + k * self.fragment_ms, samples[start : start + step])
