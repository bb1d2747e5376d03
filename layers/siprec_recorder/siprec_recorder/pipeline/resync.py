"""Decoding past damaged media: the fragments after a bad one are still the call's audio.

KVS fragments each begin with an EBML header, so after a MediaError the raw stream (kept on disk
for quarantine anyway) is searched for the next header after where the reader stopped, and a
fresh decoder reads from there. Its audio is spliced onto what came before at its own
timestamps: the damaged stretch becomes a counted gap of silence, as a missing fragment does.
Repeated until the media ends or no header is left. The raw media is still quarantined, and the
party keeps its decode error: the damage stays visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from siprec_recorder.errors import MediaError
from siprec_recorder.media.decode import CallFilter, DecodeResult, StreamDecoder, TrackResult
from siprec_recorder.media.timeline import MAX_GAP_SECONDS

MAGIC = b"\x1a\x45\xdf\xa3"  # EBML header: the start of every KVS fragment
CHUNK = 1 << 20
MAX_RESYNCS = 1000  # a stream of garbage is not worth more attempts
NS = 1_000_000_000


def next_fragment(raw: Path, after: int) -> int | None:
    """Offset of the first EBML header strictly after `after` in the file, if any."""
    with open(raw, "rb") as f:
        f.seek(after + 1)
        base, carry = after + 1, b""
        while chunk := f.read(CHUNK):
            data = carry + chunk
            at = data.find(MAGIC)
            if at >= 0:
                return base - len(carry) + at
            carry = data[-(len(MAGIC) - 1) :]
            base += len(chunk)
    return None


def _chunks(raw: Path, start: int) -> Iterator[bytes]:
    with open(raw, "rb") as f:
        f.seek(start)
        while chunk := f.read(CHUNK):
            yield chunk


def decode_from(
    raw: Path, start: int, call_filter: CallFilter, tmp: Path, fast: bool
) -> tuple[DecodeResult, int | None]:
    """Decode the raw file from `start`; the result and the absolute offset of an error."""
    decoder = StreamDecoder(call_filter=call_filter, spool_dir=tmp, fast=fast)
    try:
        for chunk in _chunks(raw, start):
            decoder.feed(chunk)
    except MediaError:
        pass
    try:
        result = decoder.close()
    except MediaError:
        result = decoder.result
    offset = None if decoder.error_offset is None else start + decoder.error_offset
    return result, offset


def splice(track: TrackResult, more: TrackResult) -> bool:
    """Append `more` (a later part of the same track) at its timestamps; False when it cannot
    be placed (another rate, no start time, or a gap past the timeline's limits: the decoder's
    own gap limits hold across a resync too). `more`'s spool is closed either way."""
    first, second = track.pcm, more.pcm
    try:
        rate = track.sample_rate
        if (
            first is None
            or second is None
            or rate is None
            or rate != more.sample_rate
            or track.start_ns is None
            or more.start_ns is None
        ):
            return False
        at = ((more.start_ns - track.start_ns) * rate + NS // 2) // NS
        gap = at - first.samples
        gaps_before = round(track.gap_ms * rate / 1000)
        if gap > 0 and gaps_before + gap > MAX_GAP_SECONDS * rate:
            return False
        skip = max(-gap, 0)  # overlapping samples: the earlier audio wins, as in the timeline
        if gap > 0:
            first.append_silence(gap)
            track.gaps += 1
            track.gap_ms += gap * 1000 / rate
        for lo in range(skip, second.samples, CHUNK):
            first.append(second.read(lo, min(CHUNK, second.samples - lo)))
        track.frames += more.frames
        track.gaps += more.gaps
        track.gap_ms += more.gap_ms
        track.overlaps += more.overlaps + (1 if skip else 0)
        track.samples = first.samples
        return True
    finally:
        if second is not None:
            second.close()
