"""ingest_mkv: real KVS GetMedia captures and simulated streams split back into fragments."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from typing import Any

from siprec_recorder.local.kvs_server import KvsServer
from siprec_recorder.simulate import SimulatedCall
from tests.conftest import KVS_SAMPLES
from tests.local.conftest import plain_client

EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def _get_media_earliest(server: KvsServer, stream: str) -> bytes:
    client: Any = plain_client("kinesis-video-media", server.url)
    resp = client.get_media(StreamName=stream, StartSelector={"StartSelectorType": "EARLIEST"})
    return bytes(resp["Payload"].read())


def test_real_capture_round_trips() -> None:
    path = KVS_SAMPLES / "output_get_media.mkv"
    data = path.read_bytes()
    # TagName then TagString (id 0x4487, 1-, 4- or 8-byte size) in the raw bytes
    numbers = [
        m.decode()
        for m in re.findall(
            rb"AWS_KINESISVIDEO_FRAGMENT_NUMBER\x44\x87(?:\x10\x00\x00.|\x01\x00{6}.|.)(\d+)",
            data,
            re.DOTALL,
        )
    ]
    # mkvinfo (mkvtoolnix) agrees on the first fragment's number
    info = subprocess.run(["mkvinfo", str(path)], capture_output=True, text=True).stdout
    assert re.search(r"FRAGMENT_NUMBER\n.*String: (\d+)", info).group(1) == numbers[0]  # type: ignore[union-attr]
    assert len(numbers) == data.count(EBML_MAGIC) == 5
    with KvsServer() as server:
        assert server.ingest_mkv("capture", path) == 5
        assert _get_media_earliest(server, "capture") == data
        client: Any = plain_client("kinesis-video-archived-media", server.url)
        listed = client.list_fragments(
            StreamName="capture",
            FragmentSelector={
                "FragmentSelectorType": "SERVER_TIMESTAMP",
                "TimestampRange": {
                    "StartTimestamp": datetime(2000, 1, 1, tzinfo=UTC),
                    "EndTimestamp": datetime(2100, 1, 1, tzinfo=UTC),
                },
            },
        )["Fragments"]
    assert sorted(f["FragmentNumber"] for f in listed) == sorted(numbers)


def test_cut_capture_keeps_only_complete_fragments() -> None:
    path = KVS_SAMPLES / "output-get-media-non-increasing-timecode.mkv"
    data = path.read_bytes()
    with KvsServer() as server:
        count = server.ingest_mkv("cut", data)
        body = _get_media_earliest(server, "cut")
    assert count == data.count(EBML_MAGIC) - 1  # the last fragment is cut off in the file
    assert data.startswith(body) and len(body) < len(data)


def test_simulated_stream_round_trips(small_call: SimulatedCall) -> None:
    leg = small_call.legs[0]
    with KvsServer() as server:
        n = server.ingest_mkv(leg.stream_arn, b"".join(d for _, d in leg.fragments))
        stored = server.store.stream(leg.stream_arn)
    assert stored is not None and n == len(leg.fragments)
    for got, (info, data) in zip(stored.fragments, leg.fragments, strict=True):
        assert (got.number, got.producer_ms, got.server_ms, got.duration_ms) == (
            info.number,
            info.producer_ms,
            info.server_ms,
            info.duration_ms,
        )
        assert got.data == data


def test_server_runs_as_a_process_with_preloaded_media() -> None:
    import os
    import signal
    import sys

    path = KVS_SAMPLES / "output_get_media.mkv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "siprec_recorder.local.kvs_server", "--mkv", f"preloaded={path}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client: Any = plain_client("kinesis-video-media", url)
        body = client.get_media(
            StreamName="preloaded", StartSelector={"StartSelectorType": "EARLIEST"}
        )["Payload"].read()
        assert body == path.read_bytes()
    finally:
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=10) == 0
