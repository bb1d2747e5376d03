"""The archive behind the local KVS server: streams, fragments and KVS's selection rules.

No HTTP here, so the rules (inclusive timestamp ranges, GetMedia's FRAGMENT_NUMBER starting
*after* the given fragment, unordered ListFragments pages) can be read and tested on their own.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
# Real fragment numbers are ~47-digit decimals that grow with ingestion order.
FRAGMENT_BASE = 91343852333181432392682062653077497216055113817
FRAGMENT_STEP = 1_000_003


@dataclass(frozen=True)
class StoredFragment:
    """One archived fragment: its KVS metadata and the MKV bytes GetMedia* return for it."""

    number: str
    producer_ms: int
    server_ms: int
    duration_ms: int
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Stream:
    """A KVS stream: fragments kept in ingestion (= fragment number) order."""

    name: str
    arn: str
    creation_ms: int
    media_type: str = "audio/L16"
    fragments: list[StoredFragment] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)  # int(number), parallel to fragments

    def index_after(self, number: str) -> int | None:
        """Position of the first fragment after `number`; None if `number` is not here."""
        key = int(number)
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            return i + 1
        return None

    def find(self, number: str) -> StoredFragment | None:
        """The fragment with this number, if the stream has it."""
        if not number.isdigit():
            return None
        i = bisect.bisect_left(self.keys, int(number))
        if i < len(self.keys) and self.keys[i] == int(number):
            return self.fragments[i]
        return None


def stream_arn(name: str, creation_ms: int, region: str = REGION, account: str = ACCOUNT) -> str:
    """The ARN KVS gives a stream: name and creation time in milliseconds."""
    return f"arn:aws:kinesisvideo:{region}:{account}:stream/{name}/{creation_ms}"


class KvsStore:
    """Thread-safe in-memory KVS archive (fragment numbers increase across all streams)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, Stream] = {}
        self._by_arn: dict[str, Stream] = {}
        self._counter = 0

    def create_stream(
        self, name: str, *, creation_ms: int | None = None, media_type: str = "audio/L16"
    ) -> Stream:
        """Create (or return the existing) stream called `name`."""
        with self._lock:
            if name in self._by_name:
                return self._by_name[name]
            created = int(time.time() * 1000) if creation_ms is None else creation_ms
            stream = Stream(name, stream_arn(name, created), created, media_type)
            self._by_name[name] = stream
            self._by_arn[stream.arn] = stream
            return stream

    def stream(self, name_or_arn: str) -> Stream | None:
        """Look a stream up by ARN or by name."""
        with self._lock:
            return self._by_arn.get(name_or_arn) or self._by_name.get(name_or_arn)

    def ensure_stream(self, name_or_arn: str) -> Stream:
        """The stream with this ARN or name, created (with the ARN's creation time) if new."""
        found = self.stream(name_or_arn)
        if found is not None:
            return found
        if name_or_arn.startswith("arn:"):
            parts = name_or_arn.split(":", 5)[-1].split("/")
            if len(parts) != 3 or not parts[2].isdigit():
                raise ValueError("malformed stream ARN")
            stream = self.create_stream(parts[1], creation_ms=int(parts[2]))
            if stream.arn != name_or_arn:  # region/account differ: index it under both ARNs
                with self._lock:
                    self._by_arn[name_or_arn] = stream
                    stream.arn = name_or_arn
            return stream
        return self.create_stream(name_or_arn)

    def streams(self) -> list[Stream]:
        with self._lock:
            return list(self._by_name.values())

    def next_number(self) -> str:
        """A fresh fragment number, larger than every one handed out before."""
        with self._lock:
            self._counter += 1
            return str(FRAGMENT_BASE + self._counter * FRAGMENT_STEP)

    def add(self, stream: Stream, fragment: StoredFragment) -> None:
        """Archive a fragment; its number must be larger than the stream's last one."""
        key = int(fragment.number)
        with self._lock:
            if stream.keys and key <= stream.keys[-1]:
                raise ValueError("fragment numbers must increase within a stream")
            stream.fragments.append(fragment)
            stream.keys.append(key)
            self._counter = max(self._counter, (key - FRAGMENT_BASE) // FRAGMENT_STEP + 1)


def select_range(
    stream: Stream, selector_type: str, start_ms: int, end_ms: int
) -> list[StoredFragment]:
    """ListFragments' rule: fragments whose start timestamp is in [start, end], both inclusive."""
    attr = "producer_ms" if selector_type == "PRODUCER_TIMESTAMP" else "server_ms"
    return [f for f in stream.fragments if start_ms <= getattr(f, attr) <= end_ms]


def get_media_start(stream: Stream, selector: dict[str, Any]) -> int:
    """Index of the first fragment GetMedia returns for a StartSelector (may be len = none)."""
    kind = selector.get("StartSelectorType")
    frags = stream.fragments
    if kind == "EARLIEST":
        return 0
    if kind == "NOW":
        return max(len(frags) - 1, 0)
    if kind in ("FRAGMENT_NUMBER", "CONTINUATION_TOKEN"):
        key = "AfterFragmentNumber" if kind == "FRAGMENT_NUMBER" else "ContinuationToken"
        number = str(selector.get(key) or "")
        at = stream.index_after(number) if number.isdigit() else None
        if at is None:
            raise LookupError(f"{key} is not a fragment of this stream")
        return at
    if kind in ("PRODUCER_TIMESTAMP", "SERVER_TIMESTAMP"):
        ts = selector.get("StartTimestamp")
        if not isinstance(ts, int | float):
            raise ValueError("StartTimestamp is required for a timestamp StartSelector")
        ms = round(ts * 1000)
        attr = "producer_ms" if kind == "PRODUCER_TIMESTAMP" else "server_ms"
        for i, f in enumerate(frags):
            begin = getattr(f, attr)
            if begin <= ms < begin + max(f.duration_ms, 1) or begin >= ms:
                return i
        return len(frags)
    raise ValueError("unknown StartSelectorType")
