"""A local Kinesis Video Streams server that speaks the real KVS HTTP API as boto3 calls it.

Control plane (GetDataEndpoint, CreateStream, DescribeStream) and the data plane the recorder
reads (ListFragments, GetMediaForFragmentList, GetMedia) on one 127.0.0.1 port, rest-json as
in botocore's service models, errors as `x-amzn-ErrorType` + {"Message"}. Fragments come from
`ingest_fragment` / `ingest_mkv`; `faults` injects throttling, delays, 5xx, cut bodies and
unreadable fragments. Run it with `with KvsServer() as kvs:` or
`python -m siprec_recorder.local.kvs_server`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from siprec_recorder.local import kvs_chunks
from siprec_recorder.local.kvs_faults import Faults
from siprec_recorder.local.kvs_http import ApiError, Handler, QuietServer, bad
from siprec_recorder.local.kvs_store import (
    KvsStore,
    StoredFragment,
    Stream,
    get_media_start,
    select_range,
)


class KvsServer:
    """The server: an in-memory archive (`store`), armed `faults` and a log of `calls`."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, missing_fragment: str = "tag"
    ) -> None:
        if missing_fragment not in ("tag", "404"):
            raise ValueError("missing_fragment must be 'tag' or '404'")
        self.store = KvsStore()
        self.faults = Faults()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.missing_fragment = missing_fragment
        self._calls_lock = threading.Lock()
        self._httpd = QuietServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._httpd.kvs = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> KvsServer:
        """Serve in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> KvsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- ingestion -------------------------------------------------------------------------
    def create_stream(self, name: str, *, creation_ms: int | None = None) -> str:
        """Create a stream; returns its ARN."""
        return self.store.create_stream(name, creation_ms=creation_ms).arn

    def ingest_fragment(self, stream_arn_or_name: str, info: Any, data: bytes) -> StoredFragment:
        """Archive one fragment. `info` is the writer's FragmentInfo (number, producer/server
        timestamps, duration); a missing number or server time is assigned as KVS would."""
        stream = self.store.ensure_stream(stream_arn_or_name)
        number = _attr(info, "number", "fragment_number")
        producer_ms = _attr(info, "producer_ms", "producer_timestamp_ms", "start_ms")
        if producer_ms is None:
            raise ValueError("fragment info has no producer timestamp")
        server_ms = _attr(info, "server_ms", "server_timestamp_ms")
        duration_ms = _attr(info, "duration_ms", "length_ms")
        fragment = StoredFragment(
            number=str(number) if number is not None else self.store.next_number(),
            producer_ms=int(producer_ms),
            server_ms=int(server_ms) if server_ms is not None else int(producer_ms),
            duration_ms=int(duration_ms or 0),
            data=bytes(data),
        )
        self.store.add(stream, fragment)
        return fragment

    def ingest_mkv(self, stream_arn_or_name: str, path_or_bytes: str | Path | bytes) -> int:
        """Split an MKV file (GetMedia layout) into fragments and archive them; returns count."""
        from siprec_recorder.local.kvs_ingest import split_mkv

        data = (
            path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
        )
        count = 0
        for info, chunk in split_mkv(data):
            self.ingest_fragment(stream_arn_or_name, info, chunk)
            count += 1
        return count

    def call_count(self, operation: str) -> int:
        """How many requests for `operation` arrived (faulted ones included)."""
        with self._calls_lock:
            return sum(1 for op, _ in self.calls if op == operation)

    def _record(self, operation: str, params: dict[str, Any]) -> None:
        with self._calls_lock:
            self.calls.append((operation, params))

    # -- operations ------------------------------------------------------------------------
    def _stream(self, params: dict[str, Any]) -> Stream:
        key = params.get("StreamARN") or params.get("StreamName")
        if not isinstance(key, str) or not key:
            raise bad("StreamName or StreamARN is required")
        stream = self.store.stream(key)
        if stream is None:
            raise ApiError(404, "ResourceNotFoundException", "The requested stream is not found")
        return stream

    def op_json(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Answer a JSON operation."""
        if operation == "GetDataEndpoint":
            self._stream(params)
            return {"DataEndpoint": self.url}
        if operation == "CreateStream":
            name = params.get("StreamName")
            if not isinstance(name, str) or not name or len(name) > 256:
                raise bad("StreamName is required")
            if self.store.stream(name) is not None:
                raise ApiError(400, "ResourceInUseException", "The stream already exists")
            return {"StreamARN": self.store.create_stream(name).arn}
        if operation == "DescribeStream":
            s = self._stream(params)
            return {
                "StreamInfo": {
                    "StreamName": s.name,
                    "StreamARN": s.arn,
                    "MediaType": s.media_type,
                    "Status": "ACTIVE",
                    "Version": "1",
                    "CreationTime": s.creation_ms / 1000,
                    "DataRetentionInHours": 24,
                }
            }
        if operation == "ListFragments":
            return self._list_fragments(params)
        raise bad("unsupported operation")

    def _list_fragments(self, params: dict[str, Any]) -> dict[str, Any]:
        max_results = params.get("MaxResults", 1000)
        if not isinstance(max_results, int) or not 1 <= max_results <= 1000:
            raise bad("MaxResults must be 1..1000")
        token = params.get("NextToken")
        kind: str
        if token is not None:
            stream_key, kind, start, end, offset = _decode_token(token)
            stream = self._stream({"StreamARN": stream_key})
        else:
            stream = self._stream(params)
            selector = params.get("FragmentSelector")
            if not isinstance(selector, dict):
                raise bad("FragmentSelector is required without NextToken")
            kind = str(selector.get("FragmentSelectorType"))
            rng = selector.get("TimestampRange")
            if kind not in ("PRODUCER_TIMESTAMP", "SERVER_TIMESTAMP") or not isinstance(rng, dict):
                raise bad("FragmentSelector is invalid")
            start, end = _ms(rng.get("StartTimestamp")), _ms(rng.get("EndTimestamp"))
            if start > end:
                raise bad("StartTimestamp is after EndTimestamp")
            offset = 0
        matched = select_range(stream, kind, start, end)
        page = matched[offset : offset + max_results]
        # KVS: "Results are in no specific order, even across pages" - so never sorted here.
        page = page[1::2] + page[0::2]
        out: dict[str, Any] = {
            "Fragments": [
                {
                    "FragmentNumber": f.number,
                    "FragmentSizeInBytes": f.size,
                    "ProducerTimestamp": f.producer_ms / 1000,
                    "ServerTimestamp": f.server_ms / 1000,
                    "FragmentLengthInMilliseconds": f.duration_ms,
                }
                for f in page
            ]
        }
        if offset + max_results < len(matched):
            out["NextToken"] = _encode_token(stream.arn, kind, start, end, offset + max_results)
        return out

    def media_chunks(self, operation: str, params: dict[str, Any]) -> Iterator[bytes]:
        """Validate a media request (raising ApiError) and return its body's chunks."""
        stream = self._stream(params)
        if operation == "GetMediaForFragmentList":
            numbers = params.get("Fragments")
            if (
                not isinstance(numbers, list)
                or not 1 <= len(numbers) <= 1000
                or not all(isinstance(n, str) and n.isdigit() and len(n) <= 128 for n in numbers)
            ):
                raise bad("Fragments must be 1..1000 fragment numbers")
            if self.missing_fragment == "404" and any(stream.find(n) is None for n in numbers):
                raise ApiError(404, "ResourceNotFoundException", "Requested fragment not found")
            return self._fragment_list_body(stream, numbers)
        selector = params.get("StartSelector")
        if not isinstance(selector, dict):
            raise bad("StartSelector is required")
        try:
            start = get_media_start(stream, selector)
        except LookupError as exc:
            raise ApiError(404, "ResourceNotFoundException", str(exc)) from exc
        except ValueError as exc:
            raise bad(str(exc)) from exc
        return self._get_media_body(stream, start)

    def _fragment_list_body(self, stream: Stream, numbers: list[str]) -> Iterator[bytes]:
        for number in numbers:
            fragment = stream.find(number)
            if fragment is None or number in self.faults.dropped:
                yield kvs_chunks.error_chunk(
                    {
                        "AWS_KINESISVIDEO_FRAGMENT_NUMBER": number,
                        "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE": str(
                            kvs_chunks.ERROR_FRAGMENT_NOT_FOUND
                        ),
                        "AWS_KINESISVIDEO_EXCEPTION_MESSAGE": "Requested fragment is not found",
                    }
                )
                return  # KVS stops the response at the fragment that failed
            yield fragment.data

    def _get_media_body(self, stream: Stream, start: int) -> Iterator[bytes]:
        # Stored fragments already carry GetMedia's after-Cluster tags (the writer adds them).
        for fragment in stream.fragments[start:]:
            if fragment.number in self.faults.dropped:
                yield kvs_chunks.error_chunk(
                    {
                        "AWS_KINESISVIDEO_ERROR_CODE": "Requested fragment is not found",
                        "AWS_KINESISVIDEO_ERROR_ID": str(kvs_chunks.ERROR_FRAGMENT_NOT_FOUND),
                        "AWS_KINESISVIDEO_CONTINUATION_TOKEN": fragment.number,
                    }
                )
                return
            yield fragment.data


def _attr(obj: Any, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _ms(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad("timestamps must be epoch seconds")
    return round(value * 1000)


def _encode_token(arn: str, kind: str, start: int, end: int, offset: int) -> str:
    raw = json.dumps([arn, kind, start, end, offset], separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def _decode_token(token: Any) -> tuple[str, str, int, int, int]:
    try:
        arn, kind, start, end, offset = json.loads(base64.b64decode(str(token), validate=True))
        if not (isinstance(arn, str) and isinstance(offset, int) and offset >= 0):
            raise ValueError("token fields")
        return arn, str(kind), int(start), int(end), offset
    except (ValueError, TypeError, binascii.Error) as exc:
        raise bad("NextToken is invalid") from exc


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; `--mkv STREAM=FILE` preloads streams. Prints the URL."""
    parser = argparse.ArgumentParser(prog="python -m siprec_recorder.local.kvs_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mkv", action="append", default=[], metavar="STREAM=FILE")
    args = parser.parse_args(argv)
    server = KvsServer(args.host, args.port)
    for item in args.mkv:
        name, _, path = item.partition("=")
        server.ingest_mkv(name, path)
    with server:
        print(server.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
