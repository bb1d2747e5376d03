"""Where a stream's media comes from: KVS (the Recorder function) or files (`process`, support).

A source yields the stream's media as batches of byte chunks; the decoder does not care which.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from siprec_recorder.errors import MediaError

CHUNK = 1 << 20


class MediaSource(Protocol):
    """A stream's MKV bytes for a call's producer-time range, batch by batch."""

    def batches(
        self, stream_arn: str, start_ms: int, end_ms: int | None
    ) -> Iterator[Iterator[bytes]]:
        """Yield one chunk iterator per batch of fragments (fragment order, nothing skipped)."""
        ...

    def notes(self, stream_arn: str) -> list[str]:
        """What the source could not deliver for this stream (warnings for the manifest)."""
        ...


class KvsLister(Protocol):
    """What the recorder needs of `aws.kvs.KvsMedia` (kept structural so tests can swap it)."""

    def list_fragments(
        self, stream_arn: str, start_ms: int, end_ms: int, *, pad_ms: int = 5000
    ) -> Sequence[Any]: ...

    def iter_media(
        self, stream_arn: str, fragment_numbers: list[str], *, batch: int = 1000
    ) -> Iterator[tuple[list[str], Iterator[bytes]]]: ...

    @property
    def skipped(self) -> list[tuple[str, str, str]]: ...


class KvsSource:
    """ListFragments over the call's time range, then GetMediaForFragmentList in batches.

    Fragments of other calls in a reused stream are listed too; the decoder drops them by tag.
    """

    def __init__(
        self, kvs: KvsLister, *, clock: Callable[[], float] = time.time, pad_ms: int = 5000
    ) -> None:
        self.kvs = kvs
        self.clock = clock
        self.pad_ms = pad_ms

    def batches(
        self, stream_arn: str, start_ms: int, end_ms: int | None
    ) -> Iterator[Iterator[bytes]]:
        fragments = self.kvs.list_fragments(
            stream_arn,
            start_ms,
            end_ms if end_ms is not None else int(self.clock() * 1000),
            pad_ms=self.pad_ms,
        )
        numbers = [str(f.number) for f in fragments]
        for _numbers, body in self.kvs.iter_media(stream_arn, numbers):
            yield body

    def notes(self, stream_arn: str) -> list[str]:
        return [
            f"KVS never delivered fragment {number} of stream {stream_arn} ({code}): "
            "its audio is silence in the recording"
            for arn, number, code in self.kvs.skipped
            if arn == stream_arn
        ]


class FileSource:
    """Media dumped from KVS into files, one file per stream ARN (support cases, tests)."""

    def __init__(self, files: Mapping[str, Path]) -> None:
        self.files = dict(files)

    def batches(
        self, stream_arn: str, start_ms: int, end_ms: int | None
    ) -> Iterator[Iterator[bytes]]:
        path = self.files.get(stream_arn)
        if path is None:
            raise MediaError(f"no media file given for stream {stream_arn}")
        yield _read_chunks(path)

    def notes(self, stream_arn: str) -> list[str]:
        return []


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk
