"""The functions' side of a benchmark: handlers in a measured child, the stack in the parent.

The parent process runs the local stack (moto + KVS server threads) and passes its endpoints
in the environment; the child here drives the real handlers against it through `LocalPipeline`
with a stand-in for the stack object. So the child's CPU time and peak RSS are the functions'
alone: moto's in-memory copy of every recording stays in the parent.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from siprec_recorder.config import Settings
from siprec_recorder.local.driver import LocalPipeline
from siprec_recorder.local.stack import KVS_ENDPOINT_VARS, LocalStack, local_client


class RemoteStack:
    """What LocalPipeline uses of a LocalStack, built from the environment the parent set."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        e = dict(os.environ if env is None else env)
        self.env = {k: v for k, v in e.items() if k.startswith(("AWS_", *_SETTINGS_PREFIXES))}
        self.settings = Settings.from_env(e)
        self.queue_url = self.settings.queue_url
        self.moto_url = e["AWS_ENDPOINT_URL"]
        self.kvs_url = e[KVS_ENDPOINT_VARS[0]]

    def client(self, service: str) -> Any:
        return local_client(service, self.moto_url, self.kvs_url)


# The recording queue's visibility is 5400 s; the driver's default of 1 s would hand a job that
# takes longer to a second worker (a redelivery the real queue does not make).
VISIBILITY_S = 900
_SETTINGS_PREFIXES = ("CALLS_", "RECORDING", "EVENT_", "OUTPUT_", "SSE_", "SIGNING_", "SWEEP_")


class TimedPipeline(LocalPipeline):
    """LocalPipeline that adds up each function's thread CPU time, wall time and invokes."""

    def __init__(self, stack: Any, totals: dict[str, dict[str, float]], lock: Any) -> None:
        super().__init__(cast(LocalStack, stack))
        self.totals, self.lock = totals, lock

    def invoke(self, function: str, event: Mapping[str, Any]) -> Any:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return super().invoke(function, event)
        finally:
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            with self.lock:
                t = self.totals.setdefault(function, {"cpu_s": 0.0, "wall_s": 0.0, "invokes": 0})
                t["cpu_s"] += cpu
                t["wall_s"] += wall
                t["invokes"] += 1


def drain() -> dict[str, Any]:
    """Run the Recorder on every queued job; its responses and per-function totals."""
    totals: dict[str, dict[str, float]] = {}
    pipeline = TimedPipeline(RemoteStack(), totals, threading.Lock())
    responses = pipeline.drain(max_rounds=1000, visibility_s=VISIBILITY_S)
    return {"responses": responses, "totals": totals}


def deliver_and_drain(events_file: str, workers: int) -> dict[str, Any]:
    """`workers` threads, each its own "container": deliver a share of the calls' events to
    StreamStatus, then drain the recording queue together. Per-function totals and timings."""
    calls: list[list[dict[str, Any]]] = json.loads(Path(events_file).read_text())
    stack, lock = RemoteStack(), threading.Lock()
    totals: dict[str, dict[str, float]] = {}
    pipelines = [TimedPipeline(stack, totals, lock) for _ in range(workers)]
    errors: list[str] = []
    responses: list[dict[str, Any]] = []
    barrier = threading.Barrier(workers)

    def work(i: int) -> None:
        try:
            for events in calls[i::workers]:
                pipelines[i].send_events(events)
            barrier.wait()  # every job is queued before anyone drains
            got = pipelines[i].drain(max_rounds=10_000, visibility_s=VISIBILITY_S)
            with lock:
                responses.extend(got)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the run
            errors.append(f"worker {i}: {type(exc).__name__}: {exc}"[:300])
            barrier.abort()

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = sum(len(r.get("batchItemFailures", [])) for r in responses)
    return {
        "wall_s": time.perf_counter() - start,
        "totals": totals,
        "jobs": len(responses),
        "failed_items": failed,
        "errors": errors,
    }
