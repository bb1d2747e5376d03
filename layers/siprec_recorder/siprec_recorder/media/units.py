"""Parsers for small sized master elements read whole: EBML header, Info, Tracks, Tags, BlockGroup.

The incremental reader buffers these (they are small and KVS writes them with known sizes) and
hands the bytes here, which keeps its main loop down to Segment, Cluster and blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from siprec_recorder.errors import MediaError
from siprec_recorder.media import ebml as e
from siprec_recorder.media.events import TrackEntry

_ASCII_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() takes "²" and "٣", which int() refuses

Buffer = bytes | bytearray | memoryview


def children(buf: Buffer, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(id, data start, data end) of each child in buf[start:end]; sizes must be known and fit."""
    pos = start
    while pos < end:
        got = e.read_id(buf, pos, end)
        if got is None:
            raise MediaError(f"element header cut inside its parent at offset {pos}")
        eid, il = got
        got2 = e.read_size(buf, pos + il, end)
        if got2 is None:
            raise MediaError(f"element header cut inside its parent at offset {pos}")
        size, sl = got2
        if size == e.UNKNOWN:
            raise MediaError(f"unknown-size element 0x{eid:X} inside a sized element")
        data = pos + il + sl
        if data + size > end:
            raise MediaError(f"element 0x{eid:X} overruns its parent")
        yield eid, data, data + size
        pos = data + size


def parse_ebml_header(buf: Buffer) -> str:
    """The DocType of an EBML header body; refuses anything that is not Matroska/WebM."""
    doctype = "matroska"
    for eid, a, b in children(buf, 0, len(buf)):
        if eid == e.DOC_TYPE:
            doctype = e.read_string(buf[a:b])
        elif eid == e.EBML_READ_VERSION and e.read_uint(buf[a:b]) > 1:
            raise MediaError("EBML read version above 1")
    if doctype not in ("matroska", "webm"):
        raise MediaError(f"not a Matroska stream (DocType {doctype[:20]!r})")
    return doctype


def parse_info(buf: Buffer) -> int:
    """The TimecodeScale (ns per tick) of an Info body."""
    scale = 1_000_000
    for eid, a, b in children(buf, 0, len(buf)):
        if eid == e.TIMECODE_SCALE:
            scale = e.read_uint(buf[a:b])
    if not 0 < scale <= 10**12:
        raise MediaError(f"invalid TimecodeScale {scale}")
    return scale


def _track_entry(buf: Buffer, start: int, end: int) -> TrackEntry:
    number = 0
    uid = track_type = channels = bit_depth = default_duration = None
    name: str | None = None
    codec_id = ""
    rate: float | None = None
    private = b""
    for eid, a, b in children(buf, start, end):
        if eid == e.TRACK_NUMBER:
            number = e.read_uint(buf[a:b])
        elif eid == e.TRACK_UID:
            uid = e.read_uint(buf[a:b])
        elif eid == e.TRACK_TYPE:
            track_type = e.read_uint(buf[a:b])
        elif eid == e.TRACK_NAME:
            name = e.read_string(buf[a:b]) or None
        elif eid == e.CODEC_ID:
            codec_id = e.read_string(buf[a:b])
        elif eid == e.CODEC_PRIVATE:
            private = bytes(buf[a:b])
        elif eid == e.DEFAULT_DURATION:
            default_duration = e.read_uint(buf[a:b])
        elif eid == e.AUDIO:
            for aid, c, d in children(buf, a, b):
                if aid == e.SAMPLING_FREQUENCY:
                    rate = e.read_float(buf[c:d])
                elif aid == e.CHANNELS:
                    channels = e.read_uint(buf[c:d])
                elif aid == e.BIT_DEPTH:
                    bit_depth = e.read_uint(buf[c:d])
    if number == 0:
        raise MediaError("TrackEntry without a track number")
    return TrackEntry(
        number=number,
        uid=uid,
        name=name,
        codec_id=codec_id,
        track_type=track_type,
        sample_rate=rate,
        channels=channels,
        bit_depth=bit_depth,
        default_duration_ns=default_duration,
        codec_private=private,
    )


def parse_tracks(buf: Buffer) -> list[TrackEntry]:
    """Every TrackEntry of a Tracks body."""
    return [
        _track_entry(buf, a, b) for eid, a, b in children(buf, 0, len(buf)) if eid == e.TRACK_ENTRY
    ]


def parse_tags(buf: Buffer) -> dict[str, str]:
    """Name -> string of every SimpleTag (Tags > Tag > SimpleTag) in a Tags body."""
    tags: dict[str, str] = {}
    for eid, a, b in children(buf, 0, len(buf)):
        if eid != e.TAG:
            continue
        for sid, c, d in children(buf, a, b):
            if sid != e.SIMPLE_TAG:
                continue
            name = value = None
            for tid, f, g in children(buf, c, d):
                if tid == e.TAG_NAME:
                    name = e.read_string(buf[f:g])
                elif tid == e.TAG_STRING:
                    value = e.read_string(buf[f:g])
            if name is not None and value is not None:
                tags[name] = value
    return tags


def parse_block_group(buf: Buffer) -> tuple[tuple[int, int], int | None]:
    """((start, end) of the Block body, BlockDuration in ticks or None) of a BlockGroup body."""
    block: tuple[int, int] | None = None
    duration = None
    for eid, a, b in children(buf, 0, len(buf)):
        if eid == e.BLOCK:
            block = (a, b)
        elif eid == e.BLOCK_DURATION:
            duration = e.read_uint(buf[a:b])
    if block is None:
        raise MediaError("BlockGroup without a Block")
    return block, duration


def parse_kvs_seconds(text: str) -> int:
    """A KVS timestamp tag ("1511852108.513", decimal seconds) as integer nanoseconds."""
    whole, _, frac = text.strip().partition(".")
    digits = _ASCII_DIGITS.fullmatch
    if not digits(whole) or (frac and not digits(frac)) or len(whole) > 12 or len(frac) > 9:
        raise MediaError(f"invalid KVS timestamp tag {text[:40]!r}")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])
