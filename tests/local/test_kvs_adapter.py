"""aws/kvs.py against the local KVS server: listing, batching, retries and their limits."""

from __future__ import annotations

import random

import pytest

from siprec_recorder.aws.kvs import KvsMedia, RetryPolicy
from siprec_recorder.errors import KvsServiceError
from siprec_recorder.local.kvs_server import KvsServer
from siprec_recorder.simulate import SimulatedCall

POLICY = RetryPolicy(max_attempts=4, base_s=0.1, cap_s=0.25)


def _media(kvs: KvsServer, sleeps: list[float], **kw: object) -> KvsMedia:
    return KvsMedia(
        endpoint_url=kvs.url,
        region="us-east-1",
        retry=POLICY,
        sleep=sleeps.append,
        rng=random.Random(3),
        **kw,  # type: ignore[arg-type]
    )


def test_list_fragments_sorted_with_padding(kvs: KvsServer, small_call: SimulatedCall) -> None:
    leg = small_call.legs[0]
    media = _media(kvs, [])
    # exact call window: only this call's fragments
    got = media.list_fragments(leg.stream_arn, leg.start_ms, leg.end_ms - 1, pad_ms=0)
    assert [f.number for f in got] == [i.number for i, _ in leg.own_fragments]
    # default 5 s padding reaches the neighbouring calls on the reused stream (1 s away)
    padded = media.list_fragments(leg.stream_arn, leg.start_ms, leg.end_ms)
    expected = [
        i for i, _ in leg.fragments if leg.start_ms - 5000 <= i.producer_ms <= leg.end_ms + 5000
    ]
    assert [f.number for f in padded] == [i.number for i in expected]
    assert [int(f.number) for f in padded] == sorted(int(f.number) for f in padded)
    first = padded[0]
    assert (first.producer_ms, first.server_ms, first.duration_ms, first.size) == (
        expected[0].producer_ms,
        expected[0].server_ms,
        expected[0].duration_ms,
        expected[0].size,
    )


def test_pagination_beyond_one_page(small_call: SimulatedCall) -> None:
    leg = small_call.legs[0]
    with KvsServer() as server:
        arn = server.create_stream("long-stream")
        info0 = leg.fragments[0][0]
        for k in range(1203):  # more than one 1000-fragment page
            server.ingest_fragment(
                arn, {"producer_ms": info0.producer_ms + 2000 * k, "duration_ms": 2000}, b"x"
            )
        got = _media(server, []).list_fragments(
            arn, info0.producer_ms, info0.producer_ms + 2000 * 1202, pad_ms=0
        )
        assert len(got) == 1203 and len({f.number for f in got}) == 1203
        assert server.call_count("ListFragments") == 2


def test_iter_media_batches_and_bytes(kvs: KvsServer, small_call: SimulatedCall) -> None:
    leg = small_call.legs[1]
    numbers = [i.number for i, _ in leg.fragments]
    batches = list(_media(kvs, []).iter_media(leg.stream_arn, numbers, batch=4))
    assert [nums for nums, _ in batches] == [numbers[i : i + 4] for i in range(0, len(numbers), 4)]
    body = b"".join(b"".join(chunks) for _, chunks in batches)
    assert body == b"".join(d for _, d in leg.fragments)


def test_skipped_fragments_are_those_of_the_latest_reading_of_a_stream(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    """One KvsMedia serves every job of a warm Recorder, and Chime reuses streams across
    calls: a fragment KVS could not deliver to an earlier job must not be reported again, in
    another call's manifest, when the stream is read later."""
    leg = small_call.legs[1]
    numbers = [i.number for i, _ in leg.fragments]
    media = _media(kvs, [])
    kvs.faults.drop_fragment(numbers[2])
    first = b"".join(b"".join(chunks) for _, chunks in media.iter_media(leg.stream_arn, numbers))
    assert media.skipped == [(leg.stream_arn, numbers[2], media.skipped[0][2])]
    assert first == b"".join(d for i, d in leg.fragments if i.number != numbers[2])
    kvs.faults.clear()
    second = b"".join(b"".join(chunks) for _, chunks in media.iter_media(leg.stream_arn, numbers))
    assert second == b"".join(d for _, d in leg.fragments)
    assert media.skipped == []


def test_throttling_is_retried_with_bounded_jittered_backoff(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    leg = small_call.legs[0]
    sleeps: list[float] = []
    kvs.faults.throttle("ListFragments", times=3)
    got = _media(kvs, sleeps).list_fragments(leg.stream_arn, leg.start_ms, leg.end_ms, pad_ms=0)
    assert len(got) == len(leg.own_fragments)
    assert kvs.call_count("ListFragments") == 4
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):
        assert 0 <= slept <= min(POLICY.cap_s, POLICY.base_s * 2**attempt)


def test_exhausted_retries_raise_kvs_service_error(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    leg = small_call.legs[0]
    kvs.faults.fail("ListFragments", times=10, status=500)
    with pytest.raises(KvsServiceError, match="ListFragments failed after 4 attempts"):
        _media(kvs, []).list_fragments(leg.stream_arn, leg.start_ms, leg.end_ms)
    assert kvs.call_count("ListFragments") == POLICY.max_attempts


def test_refusals_are_not_retried(kvs: KvsServer) -> None:
    arn = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/missing/1"
    with pytest.raises(KvsServiceError, match="ResourceNotFoundException") as err:
        _media(kvs, []).list_fragments(arn, 0, 1000)
    assert err.value.code == "kvs_error"
    assert kvs.call_count("GetDataEndpoint") == 1


def test_read_timeout_is_retried(kvs: KvsServer, small_call: SimulatedCall) -> None:
    leg = small_call.legs[0]
    kvs.faults.delay("ListFragments", seconds=1.0)
    sleeps: list[float] = []
    media = _media(kvs, sleeps, read_timeout=0.3)
    got = media.list_fragments(leg.stream_arn, leg.start_ms, leg.end_ms, pad_ms=0)
    assert len(got) == len(leg.own_fragments)
    assert len(sleeps) == 1


def test_cut_body_is_resumed_without_losing_or_repeating_bytes(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    leg = small_call.legs[0]
    numbers = [i.number for i, _ in leg.fragments]
    kvs.faults.cut("GetMediaForFragmentList", times=2, after_bytes=70_000)
    kvs.faults.throttle("GetMediaForFragmentList")
    sleeps: list[float] = []
    [(nums, chunks)] = list(_media(kvs, sleeps).iter_media(leg.stream_arn, numbers))
    assert b"".join(chunks) == b"".join(d for _, d in leg.fragments)
    assert kvs.call_count("GetMediaForFragmentList") == 4
    assert len(sleeps) == 3


def test_body_cut_every_time_raises(kvs: KvsServer, small_call: SimulatedCall) -> None:
    leg = small_call.legs[0]
    kvs.faults.cut("GetMediaForFragmentList", times=10, after_bytes=5_000)
    [(_, chunks)] = list(_media(kvs, []).iter_media(leg.stream_arn, [leg.first_fragment]))
    with pytest.raises(KvsServiceError, match="GetMediaForFragmentList"):
        b"".join(chunks)


def test_data_endpoint_cached_per_stream_and_api(kvs: KvsServer, small_call: SimulatedCall) -> None:
    media = _media(kvs, [])
    for _ in range(3):
        for leg in small_call.legs:
            media.list_fragments(leg.stream_arn, leg.start_ms, leg.end_ms)
            for _, chunks in media.iter_media(leg.stream_arn, [leg.first_fragment]):
                b"".join(chunks)
    assert kvs.call_count("GetDataEndpoint") == 2 * len(small_call.legs)
    apis = sorted(p["APIName"] for op, p in kvs.calls if op == "GetDataEndpoint")
    assert apis == ["GET_MEDIA_FOR_FRAGMENT_LIST"] * 2 + ["LIST_FRAGMENTS"] * 2


def test_endpoint_from_environment(
    kvs: KvsServer, small_call: SimulatedCall, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO", kvs.url)
    leg = small_call.legs[0]
    got = KvsMedia(region="us-east-1").list_fragments(leg.stream_arn, leg.start_ms, leg.end_ms)
    assert len(got) > 0


def test_endless_pagination_is_refused(kvs: KvsServer, small_call: SimulatedCall) -> None:
    leg = small_call.legs[0]
    media = _media(kvs, [])
    page = {"Fragments": [], "NextToken": "c2FtZQ=="}  # the same token again and again

    class Looping:
        def list_fragments(self, **_: object) -> dict[str, object]:
            return page

    media._data_client = lambda *_: Looping()  # type: ignore[method-assign]  # a broken KVS
    with pytest.raises(KvsServiceError, match="pagination"):
        media.list_fragments(leg.stream_arn, leg.start_ms, leg.end_ms)
