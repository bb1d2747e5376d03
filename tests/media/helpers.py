"""Test helpers: run the reader/decoder over bytes, normalise events, and build blocks by hand.

The block/element builders here follow the Matroska spec directly (they do not use the package's
writer), so laced and multi-byte-track blocks are an independent input for the reader.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from siprec_recorder.media.decode import StreamDecoder
from siprec_recorder.media.events import FragmentBatch, Frame, FrameRun
from siprec_recorder.media.mkv import MkvReader
from siprec_recorder.media.results import CallFilter, DecodeResult


def read_events(data: bytes, *, fast: bool, chunk: int = 1 << 20) -> list[object]:
    """All events of `data` fed in `chunk`-byte pieces, FragmentBatches and FrameRuns expanded
    (into the fragments' events and into Frames)."""
    reader = MkvReader(fast=fast)
    raw: list[object] = []
    for i in range(0, len(data), chunk):
        raw.extend(reader.feed(data[i : i + chunk]))
    raw.extend(reader.end())
    out: list[object] = []
    for ev in raw:
        out.extend(ev.events() if isinstance(ev, FragmentBatch) else [ev])
    expanded: list[object] = []
    for ev in out:
        if isinstance(ev, FrameRun):
            expanded.extend(ev.frames())
        else:
            expanded.append(ev)
    return expanded


def frames(events: list[object]) -> list[Frame]:
    return [e for e in events if isinstance(e, Frame)]


def decode_bytes(
    data: bytes,
    *,
    fast: bool,
    chunk: int = 1 << 20,
    call_filter: CallFilter | None = None,
    spool_dir: Path | None = None,
) -> DecodeResult:
    dec = StreamDecoder(call_filter=call_filter, fast=fast, spool_dir=spool_dir)
    try:
        for i in range(0, len(data), chunk):
            dec.feed(data[i : i + chunk])
        return dec.close()
    except BaseException:
        dec.close().close()  # no spool left behind, as decode_file does
        raise


def summary(result: DecodeResult) -> dict[str, object]:
    """Everything in a DecodeResult, with each track's PCM as bytes (for equality checks)."""
    return {
        "fragments": result.fragments,
        "skipped": result.skipped_fragments,
        "truncated": result.truncated,
        "truncated_at": result.truncated_at,
        "tags": result.tags,
        "tracks": [
            (
                t.number,
                t.name,
                t.codec,
                t.sample_rate,
                t.channels,
                t.frames,
                t.samples,
                t.gaps,
                t.gap_ms,
                t.overlaps,
                t.overlap_ms,
                t.start_ns,
                None if t.pcm is None else t.pcm.read_all().tobytes(),
            )
            for t in result.tracks
        ],
    }


# --- hand-made Matroska (spec-level, independent of the package) ---------------------------


def vint(value: int, length: int | None = None) -> bytes:
    """EBML varint of minimal (or given) width."""
    if length is None:
        length = 1
        while value >= (1 << (7 * length)) - 1:
            length += 1
    return (value | (1 << (7 * length))).to_bytes(length, "big")


def el(eid: int, payload: bytes) -> bytes:
    return eid.to_bytes((eid.bit_length() + 7) // 8, "big") + vint(len(payload)) + payload


def uint_el(eid: int, value: int) -> bytes:
    return el(eid, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def block_body(track: int, tc: int, frames_: list[bytes], lacing: str | None) -> bytes:
    """A (Simple)Block body with no, Xiph, EBML or fixed lacing."""
    head = vint(track) + struct.pack(">h", tc)
    if lacing is None:
        assert len(frames_) == 1
        return head + b"\x80" + frames_[0]
    flag = {"xiph": 0x02, "fixed": 0x04, "ebml": 0x06}[lacing]
    out = head + bytes([0x80 | flag, len(frames_) - 1])
    sizes = [len(f) for f in frames_[:-1]]
    if lacing == "xiph":
        for s in sizes:
            out += b"\xff" * (s // 255) + bytes([s % 255])
    elif lacing == "ebml":
        out += vint(sizes[0])
        for prev, cur in zip(sizes, sizes[1:], strict=False):
            diff = cur - prev
            out += vint(diff + 63, 1) if -63 <= diff <= 63 else vint(diff + 8191, 2)
    return out + b"".join(frames_)


def ebml_header() -> bytes:
    return el(0x1A45DFA3, el(0x4282, b"matroska") + uint_el(0x4287, 4) + uint_el(0x4285, 2))


def audio_track(
    number: int, name: str | None, codec: str = "A_PCM/INT/LIT", rate: float = 8000.0
) -> bytes:
    body = uint_el(0xD7, number) + uint_el(0x73C5, number + 1000) + uint_el(0x83, 2)
    if name:
        body += el(0x536E, name.encode())
    body += el(0x86, codec.encode())
    body += el(0xE1, el(0xB5, struct.pack(">d", rate)) + uint_el(0x9F, 1) + uint_el(0x6264, 16))
    return el(0xAE, body)


def simple_file(tracks: bytes, cluster_children: bytes, scale: int = 1_000_000) -> bytes:
    """EBML header + Segment (sized) with Info, Tracks and one sized Cluster."""
    seg = el(0x1549A966, uint_el(0x2AD7B1, scale)) + el(0x1654AE6B, tracks)
    seg += el(0x1F43B675, cluster_children)
    return ebml_header() + el(0x18538067, seg)


def pcm_bytes(samples: np.ndarray) -> bytes:
    return np.asarray(samples, dtype="<i2").tobytes()
