"""Split an MKV file in KVS layout (one EBML header per fragment) into archivable fragments.

Uses the media package's sans-IO reader for the boundaries (FragmentStarted/FragmentEnded), the
KVS tags (fragment number, producer and server timestamps) and the frame times (duration).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from siprec_recorder.media.events import FragmentEnded, FragmentStarted, FragmentTags, Frame
from siprec_recorder.media.mkv import MkvReader

FRAGMENT_NUMBER = "AWS_KINESISVIDEO_FRAGMENT_NUMBER"
PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"
SERVER_TIMESTAMP = "AWS_KINESISVIDEO_SERVER_TIMESTAMP"


@dataclass(frozen=True)
class SplitFragment:
    """What ingest needs about one fragment; number/server_ms None = let the server assign."""

    number: str | None
    producer_ms: int
    server_ms: int | None
    duration_ms: int


def _ms(seconds: str | None) -> int | None:
    if not seconds:
        return None
    try:
        return round(float(seconds) * 1000)
    except ValueError:
        return None


def split_mkv(data: bytes) -> Iterator[tuple[SplitFragment, bytes]]:
    """Complete fragments of `data` in order; a cut-off last fragment is left out."""
    reader = MkvReader()
    events = reader.feed(data) + reader.end()
    tags: dict[str, str] = {}
    first_ns: int | None = None
    last_ns = 0
    for event in events:
        if isinstance(event, FragmentStarted):
            tags, first_ns, last_ns = {}, None, 0
        elif isinstance(event, FragmentTags):
            tags.update(event.tags)
        elif isinstance(event, Frame):
            first_ns = event.time_ns if first_ns is None else min(first_ns, event.time_ns)
            last_ns = max(last_ns, event.time_ns + event.duration_ns)
        elif isinstance(event, FragmentEnded):
            number = tags.get(FRAGMENT_NUMBER)
            producer = _ms(tags.get(PRODUCER_TIMESTAMP))
            if producer is None:
                producer = (first_ns or 0) // 1_000_000
            duration = (last_ns - first_ns) // 1_000_000 if first_ns is not None else 0
            info = SplitFragment(
                number=number if number and number.isdigit() else None,
                producer_ms=producer,
                server_ms=_ms(tags.get(SERVER_TIMESTAMP)),
                duration_ms=max(duration, 0),
            )
            yield info, bytes(data[event.start : event.end])
