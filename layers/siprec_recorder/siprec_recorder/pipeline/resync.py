"""Decoding past damaged media: the fragments after a bad one are still the call's audio.

KVS fragments each begin with an EBML header, so after a MediaError the raw stream (kept on disk
for quarantine anyway) is searched for the next header after where the decoder stopped, and the
same decoder resumes there (`StreamDecoder.resume`): its timelines place the later audio at its
own timestamps, so the damaged stretch becomes a counted gap of silence, as a missing fragment
does, under the decoder's own gap limits. Repeated until the media ends or no header is left.
The raw media is still quarantined, and the party keeps its decode error: the damage stays
visible.
"""

from __future__ import annotations

from pathlib import Path

from siprec_recorder.errors import MediaError
from siprec_recorder.media.decode import StreamDecoder
from siprec_recorder.media.ebml import MAGIC  # the start of every KVS fragment

CHUNK = 1 << 20
MAX_RESYNCS = 1000  # a stream of garbage is not worth more attempts


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


def _samples(decoder: StreamDecoder) -> int:
    return sum(t.samples for t in decoder.result.tracks)


def resume_after_errors(decoder: StreamDecoder, raw: Path) -> list[int]:
    """Resume a closed decoder after each media error, reading the raw media from the next
    fragment on; the offsets at which audio was recovered. The decoder ends closed, with the
    last error (if any) in `error_offset`."""
    recovered: list[int] = []
    offset = decoder.error_offset
    for _ in range(MAX_RESYNCS):
        start = None if offset is None else next_fragment(raw, offset)
        if start is None:
            break
        before = _samples(decoder)
        decoder.resume(start)
        try:
            with open(raw, "rb") as f:
                f.seek(start)
                while chunk := f.read(CHUNK):
                    decoder.feed(chunk)
            decoder.close()
        except MediaError:
            decoder.close()  # after an error: finishes the tracks and raises no more
        if _samples(decoder) > before:
            recovered.append(start)
        offset = None if decoder.error_offset is None else max(decoder.error_offset, start)
    return recovered
