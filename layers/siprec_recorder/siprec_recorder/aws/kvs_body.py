"""Spot a fragment KVS could not deliver inside a GetMediaForFragmentList body.

KVS reports such a fragment in-stream, as tags (`AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE`, the
fragment's `AWS_KINESISVIDEO_FRAGMENT_NUMBER`), and stops there. To retry it without the decoder
ever seeing the error, bytes are handed on one whole fragment at a time (a fragment starts at
an EBML header): the bytes of the fragment in progress are held back until the next one starts.
Pure: bytes in, bytes or a failure out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from siprec_recorder.errors import MediaError
from siprec_recorder.media.ebml import read_size, read_string

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
MARKER = b"AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE"
TAG_STRING = b"\x44\x87"  # the SimpleTag value that follows each TagName


@dataclass(frozen=True)
class FragmentFailure:
    """KVS could not deliver this fragment (number None when the tags did not say)."""

    number: str | None
    code: str


def whole_fragments(chunks: Iterable[bytes]) -> Iterator[bytes | FragmentFailure]:
    """Re-chunk a body so each piece ends at a fragment boundary; a failure ends the stream."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        cut = buf.rfind(EBML_MAGIC)
        if cut <= 0:
            continue
        head = bytes(buf[:cut])
        del buf[:cut]
        failure = _failure(head)
        if failure is not None:
            yield from _good_part(head)
            yield failure
            return
        yield head
    if buf:
        tail = bytes(buf)
        failure = _failure(tail)
        if failure is not None:
            yield from _good_part(tail)
            yield failure
            return
        yield tail


def _good_part(data: bytes) -> Iterator[bytes]:
    """The bytes before the fragment that carries the exception tags."""
    at = data.find(MARKER)
    start = data.rfind(EBML_MAGIC, 0, at)
    if start > 0:
        yield data[:start]


def _failure(data: bytes) -> FragmentFailure | None:
    at = data.find(MARKER)
    if at < 0:
        return None
    data = data[max(data.rfind(EBML_MAGIC, 0, at), 0) :]  # only the failing fragment's tags
    number = _tag_value(data, b"AWS_KINESISVIDEO_FRAGMENT_NUMBER")
    return FragmentFailure(number, _tag_value(data, MARKER) or "unknown")


def _tag_value(data: bytes, name: bytes) -> str | None:
    """The TagString after a TagName (read by its EBML size, not guessed)."""
    at = data.find(name)
    if at < 0:
        return None
    start = data.find(TAG_STRING, at + len(name), at + len(name) + 16)
    if start < 0:
        return None
    try:
        size = read_size(data, start + 2, len(data))
    except MediaError:
        return None
    if size is None:
        return None
    length, field = size
    pos = start + 2 + field
    value = read_string(data[pos : pos + min(length, 128)])
    return value or None
