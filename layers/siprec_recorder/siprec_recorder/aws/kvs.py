"""The KVS adapter: the only code that calls Kinesis Video Streams.

GetDataEndpoint (cached per stream and API) → ListFragments (paginated, sorted by fragment number,
since KVS returns pages in no order) → GetMediaForFragmentList in batches of at most 1000.
Throttling, 5xx, timeouts and cut bodies are retried with bounded exponential backoff and full
jitter; botocore's own retries are off so this policy is the one in force. When retries run out,
or KVS refuses the request, the caller gets one KvsServiceError.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    IncompleteReadError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from siprec_recorder.aws.kvs_body import EBML_MAGIC, whole_fragments
from siprec_recorder.errors import KvsServiceError

T = TypeVar("T")

RETRYABLE_CODES = frozenset(
    {
        "ClientLimitExceededException",
        "ConnectionLimitExceededException",
        "ThrottlingException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
#: the endpoint we cached may be stale: fetch a new one, then retry
ENDPOINT_CODES = frozenset({"InvalidEndpointException"})
MAX_BATCH = 1000
MAX_PAGES = 10_000  # 10 M fragments: far beyond any call; a loop guard, not a limit
READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fragment:
    """One archived fragment as ListFragments describes it."""

    number: str
    producer_ms: int
    server_ms: int
    duration_ms: int
    size: int


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter: sleep U(0, min(cap, base * 2**n))."""

    max_attempts: int = 6
    base_s: float = 0.2
    cap_s: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.cap_s, self.base_s * (2**attempt)))


class KvsMedia:
    """Read a stream's fragments; one instance per process is enough (clients are reused)."""

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._session: Any = session or boto3.session.Session()
        self._region = region or self._session.region_name or "us-east-1"
        self._config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": 1},
        )
        self._control: Any = self._session.client(
            "kinesisvideo", region_name=self._region, endpoint_url=endpoint_url, config=self._config
        )
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._endpoints: dict[tuple[str, str], str] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        #: (stream ARN, fragment number, KVS code) of fragments KVS never delivered
        self.skipped: list[tuple[str, str, str]] = []

    # -- public API ------------------------------------------------------------------------
    def list_fragments(
        self, stream_arn: str, start_ms: int, end_ms: int, *, pad_ms: int = 5000
    ) -> list[Fragment]:
        """Every fragment whose producer timestamp is in [start-pad, end+pad], in number order."""
        if end_ms < start_ms:
            raise KvsServiceError("list_fragments: end is before start")
        selector = {
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {
                "StartTimestamp": _dt(start_ms - pad_ms),
                "EndTimestamp": _dt(end_ms + pad_ms),
            },
        }
        found: dict[str, Fragment] = {}
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            kwargs: dict[str, Any] = {"StreamARN": stream_arn, "MaxResults": 1000}
            if token:
                kwargs["NextToken"] = token
            else:
                kwargs["FragmentSelector"] = selector
            page: dict[str, Any] = self._call(
                stream_arn, "LIST_FRAGMENTS", "ListFragments", _lister(kwargs)
            )
            for item in page.get("Fragments", []):
                frag = _fragment(item)
                found[frag.number] = frag
            token = page.get("NextToken")
            if not token:
                break
            if token in seen_tokens or len(seen_tokens) >= MAX_PAGES:
                raise KvsServiceError("ListFragments pagination does not end")
            seen_tokens.add(token)
        return sorted(found.values(), key=lambda f: int(f.number))

    def iter_media(
        self, stream_arn: str, fragment_numbers: Sequence[str], *, batch: int = MAX_BATCH
    ) -> Iterator[tuple[list[str], Iterator[bytes]]]:
        """Per batch of <= 1000 fragments: its numbers and its GetMediaForFragmentList body.

        A body cut off mid-way is re-requested and the bytes already delivered are skipped, so
        the caller sees one uninterrupted byte stream per batch (KVS returns the same bytes
        for the same fragment list)."""
        if not 1 <= batch <= MAX_BATCH:
            raise KvsServiceError(f"batch must be 1..{MAX_BATCH}")
        # this reading's skips only: a warm container reads reused streams for other calls
        self.skipped = [s for s in self.skipped if s[0] != stream_arn]
        numbers = list(fragment_numbers)
        for i in range(0, len(numbers), batch):
            part = numbers[i : i + batch]
            yield part, self._batch_body(stream_arn, part)

    # -- internals -------------------------------------------------------------------------
    def _batch_body(self, stream_arn: str, numbers: list[str]) -> Iterator[bytes]:
        """The batch's media, whole fragments at a time; a fragment KVS reports as not
        delivered is asked for again with backoff, then skipped (the decoder then sees a gap,
        and `skipped` names it for the manifest's warnings)."""
        remaining = list(numbers)
        failures = 0
        while remaining:
            restart: list[str] | None = None
            sent = 0  # fragments of this request already handed on (each starts with EBML magic)
            for piece in whole_fragments(self._request_body(stream_arn, remaining)):
                if isinstance(piece, bytes):
                    sent += piece.count(EBML_MAGIC)
                    yield piece
                    continue
                if piece.number in remaining:
                    at = remaining.index(piece.number)
                else:
                    # KVS did not name it: resume after the fragments already handed on
                    # (restarting from the first would hand them on twice)
                    at = min(sent, len(remaining) - 1)
                failures += 1
                if failures < self.retry.max_attempts:
                    self._sleep(self.retry.delay(failures - 1, self._rng))
                    restart = remaining[at:]
                else:
                    self.skipped.append((stream_arn, remaining[at], piece.code))
                    restart, failures = remaining[at + 1 :], 0
                break
            if restart is None:
                return
            remaining = restart

    def _request_body(self, stream_arn: str, numbers: list[str]) -> Iterator[bytes]:
        """One GetMediaForFragmentList body; a body cut mid-way is re-requested and the bytes
        already delivered are skipped."""
        delivered = 0
        attempt = 0
        while True:
            response = self._call(
                stream_arn,
                "GET_MEDIA_FOR_FRAGMENT_LIST",
                "GetMediaForFragmentList",
                lambda client: client.get_media_for_fragment_list(
                    StreamARN=stream_arn, Fragments=numbers
                ),
            )
            body = response["Payload"]
            skip = delivered
            try:
                for chunk in body.iter_chunks(READ_CHUNK):
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk, skip = chunk[skip:], 0
                    delivered += len(chunk)
                    yield chunk
                return
            except (HTTPClientError, BotoConnectionError, IncompleteReadError) as exc:
                attempt += 1
                if attempt >= self.retry.max_attempts:
                    raise KvsServiceError(
                        f"KVS GetMediaForFragmentList body failed {attempt} times: "
                        f"{type(exc).__name__}"
                    ) from exc
                self._sleep(self.retry.delay(attempt - 1, self._rng))
            finally:
                body.close()

    def _call(self, stream_arn: str, api: str, operation: str, fn: Callable[[Any], T]) -> T:
        """Run fn(client) with the retry policy; a KvsServiceError when it cannot succeed."""
        last = ""
        for attempt in range(self.retry.max_attempts):
            if attempt:
                self._sleep(self.retry.delay(attempt - 1, self._rng))
            try:
                return fn(self._data_client(stream_arn, api))
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                last = code or f"HTTP {status}"
                if code in ENDPOINT_CODES:
                    self._forget(stream_arn, api)
                elif code not in RETRYABLE_CODES and status < 500:
                    raise KvsServiceError(f"KVS {operation} refused: {last}") from exc
            except (HTTPClientError, BotoConnectionError, IncompleteReadError) as exc:
                last = type(exc).__name__
                if isinstance(exc, BotoConnectionError):
                    self._forget(stream_arn, api)
        raise KvsServiceError(
            f"KVS {operation} failed after {self.retry.max_attempts} attempts: {last}"
        )

    def _data_client(self, stream_arn: str, api: str) -> Any:
        key = (stream_arn, api)
        with self._lock:
            endpoint = self._endpoints.get(key)
        if endpoint is None:
            endpoint = self._control.get_data_endpoint(StreamARN=stream_arn, APIName=api)[
                "DataEndpoint"
            ]
            with self._lock:
                self._endpoints[key] = endpoint
        service = "kinesis-video-media" if api == "GET_MEDIA" else "kinesis-video-archived-media"
        with self._lock:
            client = self._clients.get((service, endpoint))
            if client is None:
                client = self._session.client(
                    service, region_name=self._region, endpoint_url=endpoint, config=self._config
                )
                self._clients[(service, endpoint)] = client
        return client

    def _forget(self, stream_arn: str, api: str) -> None:
        with self._lock:
            self._endpoints.pop((stream_arn, api), None)


def _lister(kwargs: dict[str, Any]) -> Callable[[Any], dict[str, Any]]:
    def call(client: Any) -> dict[str, Any]:
        result: dict[str, Any] = client.list_fragments(**kwargs)
        return result

    return call


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(max(ms, 0) / 1000, tz=UTC)


def _ms(value: Any) -> int:
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    return round(float(value) * 1000)


def _fragment(item: dict[str, Any]) -> Fragment:
    number = str(item.get("FragmentNumber", ""))
    if not number.isdigit():
        raise KvsServiceError("ListFragments returned a fragment without a valid number")
    return Fragment(
        number=number,
        producer_ms=_ms(item["ProducerTimestamp"]),
        server_ms=_ms(item["ServerTimestamp"]),
        duration_ms=int(item.get("FragmentLengthInMilliseconds", 0)),
        size=int(item.get("FragmentSizeInBytes", 0)),
    )
