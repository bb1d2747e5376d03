"""The local KVS server, driven only by plain boto3 clients (what the real service would see)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError

from siprec_recorder.local.kvs_server import KvsServer
from siprec_recorder.simulate import SimulatedCall
from tests.local.conftest import plain_client


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _endpoint(kvs: KvsServer, arn: str, api: str) -> str:
    control: Any = plain_client("kinesisvideo", kvs.url)
    return str(control.get_data_endpoint(StreamARN=arn, APIName=api)["DataEndpoint"])


def test_get_data_endpoint_returns_this_server(kvs: KvsServer, small_call: SimulatedCall) -> None:
    assert _endpoint(kvs, small_call.legs[0].stream_arn, "LIST_FRAGMENTS") == kvs.url


def test_unknown_stream_is_resource_not_found(kvs: KvsServer) -> None:
    control: Any = plain_client("kinesisvideo", kvs.url)
    with pytest.raises(ClientError) as err:
        control.get_data_endpoint(
            StreamARN="arn:aws:kinesisvideo:us-east-1:123456789012:stream/nope/1",
            APIName="GET_MEDIA",
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_create_and_describe_stream(kvs: KvsServer) -> None:
    control: Any = plain_client("kinesisvideo", kvs.url)
    arn = control.create_stream(StreamName="made-here", MediaType="audio/L16")["StreamARN"]
    assert arn.startswith("arn:aws:kinesisvideo:us-east-1:") and "/made-here/" in arn
    info = control.describe_stream(StreamName="made-here")["StreamInfo"]
    assert info["StreamARN"] == arn and info["Status"] == "ACTIVE"


def test_list_fragments_paginates_every_fragment_once(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    leg = small_call.legs[0]
    client: Any = plain_client("kinesis-video-archived-media", kvs.url)
    first, last = leg.fragments[0][0], leg.fragments[-1][0]
    pages = client.get_paginator("list_fragments").paginate(
        StreamARN=leg.stream_arn,
        FragmentSelector={
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {
                "StartTimestamp": _ts(first.producer_ms),
                "EndTimestamp": _ts(last.producer_ms),
            },
        },
        PaginationConfig={"PageSize": 4},
    )
    seen = [f for page in pages for f in page["Fragments"]]
    assert len(seen) == len(leg.fragments)  # inclusive at both ends, nothing twice
    by_number = {info.number: info for info, _ in leg.fragments}
    assert {f["FragmentNumber"] for f in seen} == set(by_number)
    for f in seen:
        info = by_number[f["FragmentNumber"]]
        assert round(f["ProducerTimestamp"].timestamp() * 1000) == info.producer_ms
        assert round(f["ServerTimestamp"].timestamp() * 1000) == info.server_ms
        assert f["FragmentLengthInMilliseconds"] == info.duration_ms
        assert f["FragmentSizeInBytes"] == info.size


def test_list_fragments_range_and_server_timestamps(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    leg = small_call.legs[1]
    infos = [info for info, _ in leg.fragments]
    client: Any = plain_client("kinesis-video-archived-media", kvs.url)
    # a range starting 1 ms after fragment 2 starts and ending exactly at fragment 5's start
    for kind, attr in (("PRODUCER_TIMESTAMP", "producer_ms"), ("SERVER_TIMESTAMP", "server_ms")):
        out = client.list_fragments(
            StreamARN=leg.stream_arn,
            FragmentSelector={
                "FragmentSelectorType": kind,
                "TimestampRange": {
                    "StartTimestamp": _ts(getattr(infos[2], attr) + 1),
                    "EndTimestamp": _ts(getattr(infos[5], attr)),
                },
            },
        )
        assert "NextToken" not in out
        assert sorted(f["FragmentNumber"] for f in out["Fragments"]) == sorted(
            i.number for i in infos[3:6]
        )


def test_get_media_for_fragment_list_streams_in_requested_order(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    leg = small_call.legs[0]
    wanted = [leg.fragments[5], leg.fragments[2], leg.fragments[3]]
    client: Any = plain_client("kinesis-video-archived-media", kvs.url)
    resp = client.get_media_for_fragment_list(
        StreamARN=leg.stream_arn, Fragments=[i.number for i, _ in wanted]
    )
    assert resp["ContentType"] == "video/webm"
    assert resp["Payload"].read() == b"".join(data for _, data in wanted)


def test_unknown_fragment_gives_an_in_stream_error_chunk(
    kvs: KvsServer, small_call: SimulatedCall, tmp_path: Any
) -> None:
    leg = small_call.legs[0]
    good = leg.fragments[0]
    missing = str(int(leg.fragments[-1][0].number) + 999)
    client: Any = plain_client("kinesis-video-archived-media", kvs.url)
    body = client.get_media_for_fragment_list(
        StreamARN=leg.stream_arn, Fragments=[good[0].number, missing, leg.fragments[1][0].number]
    )["Payload"].read()
    assert body.startswith(good[1])
    chunk = body[len(good[1]) :]
    (tmp_path / "err.mkv").write_bytes(chunk)
    # mkvinfo (mkvtoolnix) reads the chunk as Matroska with the documented tags
    info = subprocess.run(
        ["mkvinfo", str(tmp_path / "err.mkv")], capture_output=True, text=True, check=False
    ).stdout
    assert "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE" in info
    assert "AWS_KINESISVIDEO_EXCEPTION_MESSAGE" in info
    assert missing in info
    assert leg.fragments[1][1] not in body  # KVS stops at the failing fragment


def test_unknown_fragment_404_mode(small_call: SimulatedCall) -> None:
    leg = small_call.legs[0]
    with KvsServer(missing_fragment="404") as server:
        for info, data in leg.fragments:
            server.ingest_fragment(leg.stream_arn, info, data)
        client: Any = plain_client("kinesis-video-archived-media", server.url)
        with pytest.raises(ClientError) as err:
            client.get_media_for_fragment_list(StreamARN=leg.stream_arn, Fragments=["1"])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("selector", "first_index"),
    [
        ({"StartSelectorType": "EARLIEST"}, 0),
        ({"StartSelectorType": "NOW"}, -1),
        ({"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": 3}, 4),
        ({"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": 6}, 7),
        ({"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": (5, 0)}, 5),
        ({"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": (5, 700)}, 5),
        ({"StartSelectorType": "SERVER_TIMESTAMP", "StartTimestamp": (8, 0)}, 8),
    ],
)
def test_get_media_start_selectors(
    kvs: KvsServer, small_call: SimulatedCall, selector: dict[str, Any], first_index: int
) -> None:
    leg = small_call.legs[0]
    frags = leg.fragments
    sel = dict(selector)
    for key in ("AfterFragmentNumber", "ContinuationToken"):
        if key in sel:
            sel[key] = frags[sel[key]][0].number
    if "StartTimestamp" in sel:
        index, offset = sel["StartTimestamp"]
        attr = "producer_ms" if sel["StartSelectorType"] == "PRODUCER_TIMESTAMP" else "server_ms"
        sel["StartTimestamp"] = _ts(getattr(frags[index][0], attr) + offset)
    client: Any = plain_client("kinesis-video-media", _endpoint(kvs, leg.stream_arn, "GET_MEDIA"))
    body = client.get_media(StreamARN=leg.stream_arn, StartSelector=sel)["Payload"].read()
    assert body == b"".join(data for _, data in frags[first_index:])


def test_get_media_unknown_after_fragment_is_not_found(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    leg = small_call.legs[0]
    client: Any = plain_client("kinesis-video-media", kvs.url)
    with pytest.raises(ClientError) as err:
        client.get_media(
            StreamARN=leg.stream_arn,
            StartSelector={"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": "42"},
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_injected_throttle_failure_and_cut(kvs: KvsServer, small_call: SimulatedCall) -> None:
    leg = small_call.legs[0]
    client: Any = plain_client("kinesis-video-archived-media", kvs.url)
    numbers = [i.number for i, _ in leg.fragments[:4]]
    expected = b"".join(d for _, d in leg.fragments[:4])
    kvs.faults.throttle("GetMediaForFragmentList")
    kvs.faults.fail("GetMediaForFragmentList", status=503)
    with pytest.raises(ClientError) as throttled:
        client.get_media_for_fragment_list(StreamARN=leg.stream_arn, Fragments=numbers)
    assert throttled.value.response["Error"]["Code"] == "ClientLimitExceededException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as failed:
        client.get_media_for_fragment_list(StreamARN=leg.stream_arn, Fragments=numbers)
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    kvs.faults.cut("GetMediaForFragmentList", after_bytes=1000)
    body = client.get_media_for_fragment_list(StreamARN=leg.stream_arn, Fragments=numbers)
    with pytest.raises(ResponseStreamingError):
        body["Payload"].read()
    # faults are used up: the next call is whole
    again = client.get_media_for_fragment_list(StreamARN=leg.stream_arn, Fragments=numbers)
    assert again["Payload"].read() == expected
    assert kvs.call_count("GetMediaForFragmentList") == 4


def test_dropped_fragment_is_listed_but_unreadable(
    kvs: KvsServer, small_call: SimulatedCall
) -> None:
    leg = small_call.legs[1]
    dropped = leg.fragments[2][0].number
    kvs.faults.drop_fragment(dropped)
    client: Any = plain_client("kinesis-video-archived-media", kvs.url)
    body = client.get_media_for_fragment_list(
        StreamARN=leg.stream_arn, Fragments=[i.number for i, _ in leg.fragments[:4]]
    )["Payload"].read()
    assert body.startswith(leg.fragments[0][1] + leg.fragments[1][1])
    assert b"AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE" in body and dropped.encode() in body
    assert leg.fragments[3][1] not in body


def _raw_post(url: str, path: str, body: bytes) -> tuple[int, str, dict[str, Any]]:
    req = urllib.request.Request(url + path, data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            return resp.status, "", json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("x-amzn-ErrorType", ""), json.loads(err.read())


def test_hostile_requests_are_refused(kvs: KvsServer, small_call: SimulatedCall) -> None:
    arn = small_call.legs[0].stream_arn
    status, code, body = _raw_post(kvs.url, "/listFragments", b"{not json")
    assert (status, code.rstrip(":")) == (400, "InvalidArgumentException")
    assert len(body["Message"]) < 100
    status, code, _ = _raw_post(
        kvs.url, "/listFragments", json.dumps({"StreamARN": arn, "MaxResults": 0}).encode()
    )
    assert (status, code.rstrip(":")) == (400, "InvalidArgumentException")
    status, code, _ = _raw_post(
        kvs.url, "/listFragments", json.dumps({"StreamARN": arn, "NextToken": "!!"}).encode()
    )
    assert (status, code.rstrip(":")) == (400, "InvalidArgumentException")
    status, code, _ = _raw_post(
        kvs.url,
        "/getMediaForFragmentList",
        json.dumps({"StreamARN": arn, "Fragments": ["1"] * 1001}).encode(),
    )
    assert (status, code.rstrip(":")) == (400, "InvalidArgumentException")
    # an oversized body is answered 400 and the connection closed without reading it (the
    # client may see the close before the answer); the server keeps serving
    try:
        status, _, _ = _raw_post(kvs.url, "/listFragments", b" " * (2 << 20))
        assert status == 400
    except urllib.error.URLError as exc:
        assert isinstance(exc.reason, ConnectionError)
    assert _endpoint(kvs, arn, "GET_MEDIA") == kvs.url
