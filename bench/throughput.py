"""Concurrent calls through the local stack, and what that means in Lambda cost (issue 7.4).

`python -m bench.throughput [--quick]`: for N = 1, 8, 32 concurrent 60-second calls, a fresh
local stack in this process holds the media; one measured child process runs N worker threads,
each its own "container" (LocalPipeline with its own handler instances): it delivers its calls'
events to StreamStatus, then all drain the recording queue. Per-function CPU is each thread's
own CPU time around each invoke. Every call must end RECORDED with one manifest.
The cost model turns CPU seconds into Lambda GB-seconds at the template's memory sizes.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from bench._cost import cost_notes, cost_table
from bench._measure import (
    OUT,
    Measurement,
    child_env,
    machine_header,
    markdown_table,
    measure_function,
)

CALL_S = 60.0
SIZES = (1, 8, 32)
QUICK_SIZES = (1, 4)
SEED0 = 7000


@dataclass(frozen=True)
class Round:
    """N concurrent calls: the child's measurement, its own report and what landed."""

    n: int
    events: int
    m: Measurement
    result: dict[str, Any]
    recorded: int
    manifests: int

    def cpu(self, function: str) -> float:
        return float(self.result["totals"].get(function, {}).get("cpu_s", 0.0))

    def invokes(self, function: str) -> int:
        return int(self.result["totals"].get(function, {}).get("invokes", 0))

    @property
    def call_hours(self) -> float:
        return self.n * CALL_S / 3600


def simulate(count: int) -> list[Any]:
    """`count` distinct 60-second calls (some with an UPDATED re-INVITE)."""
    from siprec_recorder.simulate import simulate_call

    return [
        simulate_call(duration_s=CALL_S, seed=SEED0 + i, updated=i % 4 == 0) for i in range(count)
    ]


def run_round(calls: list[Any]) -> Round:
    """One round on a fresh stack: ingest, measured child delivers + drains, check."""
    from siprec_recorder.aws.calls_table import CallsTable
    from siprec_recorder.local.driver import LocalPipeline
    from siprec_recorder.local.stack import LocalStack
    from siprec_recorder.simulate import ingest

    n = len(calls)
    events_file = OUT / "throughput" / f"events-{n}.json"
    events_file.parent.mkdir(parents=True, exist_ok=True)
    events_file.write_text(json.dumps([c.events for c in calls]))
    with LocalStack() as stack:
        for call in calls:
            ingest(call, stack.kvs)
        env = child_env(LocalPipeline(stack).env)
        m = measure_function("bench._remote:deliver_and_drain", str(events_file), n, env=env)
        result = m.check(f"{n} concurrent calls").result()
        if result["errors"]:
            raise RuntimeError(f"{n} concurrent calls: {result['errors'][0]}")
        table = CallsTable(stack.settings.calls_table, client=stack.client("dynamodb"))
        statuses = [table.get(c.transaction_id) for c in calls]
        recorded = sum(1 for s in statuses if s is not None and s.status.value == "RECORDED")
        manifests = sum(1 for k in LocalPipeline(stack).objects() if k.endswith("manifest.json"))
    return Round(n, sum(len(c.events) for c in calls), m, result, recorded, manifests)


def report(rounds: list[Round]) -> str:
    """Throughput table, then the cost model from the per-function CPU of all rounds."""
    rows = []
    for r in rounds:
        wall = float(r.result["wall_s"])
        rows.append(
            [
                r.n,
                r.events,
                f"{wall:.1f}",
                f"{r.n / wall:.2f}",
                f"{r.events / wall:.1f}",
                f"{r.m.cpu_s:.1f}",
                f"{r.cpu('recorder') / r.call_hours:.1f}",
                f"{1000 * r.cpu('stream_status') / max(r.invokes('stream_status'), 1):.0f}",
                f"{r.m.peak_rss_mib:.0f}",
                f"{r.recorded}/{r.n} RECORDED, {r.manifests} manifests",
            ]
        )
    headers = ["N calls", "events", "wall s", "calls/s", "events/s", "child CPU s"]
    headers += ["Recorder CPU s / call-hour", "StreamStatus CPU ms / event", "peak RSS MiB"]
    lines = [markdown_table([*headers, "check"], rows), ""]
    lines.append(
        f"{CALL_S:.0f}-second two-party calls. wall s / calls/s: from the first event to the "
        "empty queue, inside the child (imports excluded). child CPU s: the whole child "
        "process (both functions, boto3 clients, threads). Per-function CPU: each worker "
        "thread's CPU time around each invoke, summed (each container's first invoke builds "
        "its clients, so small N weighs that more). Moto and the KVS server run in the "
        "bench process and are not counted. 2 cores are shared by every thread."
    )
    hours = sum(r.call_hours for r in rounds)
    per_hour = {
        "recorder_cpu_s": sum(r.cpu("recorder") for r in rounds) / hours,
        "recorder_invokes": sum(r.invokes("recorder") for r in rounds) / hours,
        # wall per call-hour from the smallest round only: with N threads on 2 cores the
        # wall time of one invoke counts the others' work too
        "recorder_wall_s": float(rounds[0].result["totals"]["recorder"]["wall_s"])
        / rounds[0].call_hours,
        "stream_status_cpu_s": sum(r.cpu("stream_status") for r in rounds) / hours,
        "stream_status_invokes": sum(r.invokes("stream_status") for r in rounds) / hours,
    }
    lines += ["", cost_table(per_hour, call_s=CALL_S), "", cost_notes()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the throughput and cost tables; exit 1 if any call did not end RECORDED."""
    parser = argparse.ArgumentParser(prog="python -m bench.throughput")
    parser.add_argument("--quick", action="store_true", help="N = 1, 4 only")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    calls = simulate(max(sizes))
    rounds = [run_round(calls[:n]) for n in sizes]
    print("### Throughput: concurrent calls through the local stack\n")
    print(machine_header() + "\n")
    print(report(rounds))
    bad = [r for r in rounds if r.recorded != r.n or r.manifests != r.n]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
