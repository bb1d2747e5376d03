"""The in-stream KVS failure detector: whole fragments pass, the failing one is named."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from siprec_recorder.aws.kvs_body import FragmentFailure, whole_fragments
from siprec_recorder.local.kvs_chunks import ERROR_FRAGMENT_NOT_FOUND, error_chunk
from siprec_recorder.media.writer import KvsStreamWriter

PCM = (np.arange(8000 * 6) % 200 - 100).astype(np.int16)
FRAGMENTS = [
    data
    for _, data in KvsStreamWriter(producer_tags={"TransactionId": "t"}).stream(
        1_700_000_000_000, PCM
    )
]
ERROR = error_chunk(
    {
        "AWS_KINESISVIDEO_FRAGMENT_NUMBER": "12345",
        "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE": str(ERROR_FRAGMENT_NOT_FOUND),
        "AWS_KINESISVIDEO_EXCEPTION_MESSAGE": "Requested fragment is not found",
    }
)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**7), max_size=30))
def test_any_chunking_passes_the_same_bytes(cuts):
    body = b"".join(FRAGMENTS)
    out = list(whole_fragments(_chunks(body, cuts)))
    assert all(isinstance(p, bytes) for p in out)
    assert b"".join(out) == body  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**7), max_size=30))
def test_the_failing_fragment_is_named_and_nothing_of_it_passes(cuts):
    good = b"".join(FRAGMENTS[:2])
    out = list(whole_fragments(_chunks(good + ERROR, cuts)))
    assert out[-1] == FragmentFailure("12345", str(ERROR_FRAGMENT_NOT_FOUND))
    assert b"".join(p for p in out[:-1] if isinstance(p, bytes)) == good


def test_the_reader_names_a_fragment_list_exception_on_both_paths():
    import pytest

    from siprec_recorder.errors import KvsServiceError
    from siprec_recorder.media.decode import StreamDecoder

    for fast in (True, False):
        decoder = StreamDecoder(fast=fast)
        decoder.feed(b"".join(FRAGMENTS[:2]))
        with pytest.raises(KvsServiceError, match="fragment 12345"):
            decoder.feed(ERROR)  # the general path sees it here,
            decoder.close()  # the fast path at the end of input
        if fast:
            result = decoder.result  # close() raised: what came before the error is kept
        else:
            result = decoder.close()  # after a feed error close() returns what came before
        assert result.tracks[0].samples == 2 * 2000 * 8


def test_an_unnamed_failure_resumes_after_what_was_delivered():
    """KVS's exception chunk without a fragment number: the adapter asks again from the first
    fragment it has not handed on yet, so no fragment reaches the decoder twice."""
    from siprec_recorder.aws.kvs import KvsMedia, RetryPolicy

    unnamed = error_chunk({"AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE": str(ERROR_FRAGMENT_NOT_FOUND)})
    by_number = {str(n): data for n, data in enumerate(FRAGMENTS[:3], start=1)}
    asked: list[list[str]] = []

    def body(stream_arn: str, numbers: list[str]):
        asked.append(list(numbers))
        for number in numbers:
            if number == "3" and len(asked) == 1:  # the first try of fragment 3 fails
                yield unnamed
                return
            yield by_number[number]

    kvs = KvsMedia(region="us-east-1", retry=RetryPolicy(max_attempts=3), sleep=lambda s: None)
    kvs._request_body = body  # type: ignore[method-assign]
    out = b"".join(kvs._batch_body("arn", ["1", "2", "3"]))
    assert out == b"".join(FRAGMENTS[:3])
    assert asked == [["1", "2", "3"], ["3"]] and kvs.skipped == []
