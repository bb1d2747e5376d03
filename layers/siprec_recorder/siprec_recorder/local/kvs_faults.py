"""Fault injection for the local KVS server: what tests use to prove the adapter survives KVS.

Each fault applies to the next N calls of one operation (by its API name, e.g. "ListFragments");
faults armed for the same operation queue up in arming order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

OPERATIONS = (
    "GetDataEndpoint",
    "CreateStream",
    "DescribeStream",
    "ListFragments",
    "GetMediaForFragmentList",
    "GetMedia",
)


@dataclass
class Fault:
    """One armed fault; `remaining` counts the calls it still applies to."""

    kind: str  # "throttle" | "fail" | "delay" | "cut"
    remaining: int
    status: int = 500
    seconds: float = 0.0
    after_bytes: int | None = None  # for "cut": None = half the body


@dataclass
class Faults:
    """Armed faults by operation plus fragments that are listed but cannot be read."""

    _armed: dict[str, list[Fault]] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _arm(self, operation: str, fault: Fault) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown KVS operation {operation!r}")
        with self._lock:
            self._armed.setdefault(operation, []).append(fault)

    def throttle(self, operation: str, times: int = 1) -> None:
        """The next `times` calls get ClientLimitExceededException (HTTP 400, as KVS throttles)."""
        self._arm(operation, Fault("throttle", times, status=400))

    def fail(self, operation: str, times: int = 1, status: int = 500) -> None:
        """The next `times` calls fail with a server error (InternalFailure / 5xx)."""
        self._arm(operation, Fault("fail", times, status=status))

    def delay(self, operation: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls wait `seconds` before answering (client read timeouts)."""
        self._arm(operation, Fault("delay", times, seconds=seconds))

    def cut(self, operation: str, times: int = 1, after_bytes: int | None = None) -> None:
        """The next `times` media bodies stop after `after_bytes` (default half) and the
        connection closes, like a GetMedia* response cut off mid-way."""
        self._arm(operation, Fault("cut", times, after_bytes=after_bytes))

    def drop_fragment(self, number: str) -> None:
        """The fragment stays listed, but reading it gets KVS's fragment-not-found error."""
        with self._lock:
            self.dropped.add(number)

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._armed.clear()
            self.dropped.clear()

    def take(self, operation: str) -> list[Fault]:
        """The fault for this call, if any: armed faults apply in the order they were armed
        (throttle twice then fail once = three calls), each for its `remaining` calls."""
        with self._lock:
            queue = self._armed.get(operation, [])
            while queue and queue[0].remaining <= 0:
                queue.pop(0)
            if not queue:
                return []
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.pop(0)
            return [fault]
