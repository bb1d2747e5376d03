"""Load test (issue 5.7): `python -m bench.load` (also `make load`).

200 short simulated calls with varied options go through the real handlers on the local stack
(loopback only): all calls' events shuffled together, ~10 % delivered twice, some calls'
events reversed; delivered by several threads at once (each its own StreamStatus container),
then several Recorder workers drain the queue, the sweeper finishes calls that lost a leg, and
the workers drain again. Then it proves: exactly one terminal state per call, as the options
expect; exactly one manifest per call; every leg's audio bit-exact; nothing written twice;
one "Recording Available" event per call. Exit 1 if any check fails or time runs out.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from bench._load_checks import Verdict, check_all
from bench._load_plan import Planned, hostile_order, plan_calls
from bench._measure import OUT, machine_header, markdown_table

EVENT_ATTEMPTS = 5  # EventBridge retries a failed async invoke (185 times in the template)
VISIBILITY_S = 30
SWEEP_ENV = {"SWEEP_STREAM_GRACE_MINUTES": "0"}


def in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run work(0..count-1) in threads; re-raise the first error."""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def deliver(stack: Any, order: list[tuple[int, dict[str, Any]]], workers: int) -> int:
    """Deliver the events from `workers` threads at once; returns the retried invokes."""
    from siprec_recorder.local.driver import LocalPipeline

    pipelines = [LocalPipeline(stack) for _ in range(workers)]
    retries = [0] * workers

    def work(i: int) -> None:
        for _, event in order[i::workers]:
            for attempt in range(EVENT_ATTEMPTS):
                try:
                    pipelines[i].send_events([event])
                    break
                except Exception:  # noqa: BLE001 - an async invoke that failed is retried
                    retries[i] += 1
                    if attempt == EVENT_ATTEMPTS - 1:
                        raise
                    time.sleep(0.05 * 2**attempt)

    in_threads(workers, work)
    return sum(retries)


def drain_all(stack: Any, workers: int, deadline: float) -> tuple[int, int]:
    """Recorder workers drain until the queue is empty; (jobs run, failed items)."""
    from siprec_recorder.local.driver import LocalPipeline

    sqs = stack.client("sqs")
    pipelines = [LocalPipeline(stack) for _ in range(workers)]
    jobs = [0] * workers
    failed = [0] * workers

    def queue_empty() -> bool:
        attrs = sqs.get_queue_attributes(
            QueueUrl=stack.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(int(v) == 0 for v in attrs.values())

    def work(i: int) -> None:
        while time.monotonic() < deadline:
            got = pipelines[i].drain(max_rounds=20, visibility_s=VISIBILITY_S)
            jobs[i] += len(got)
            failed[i] += sum(len(r.get("batchItemFailures", [])) for r in got)
            if not got:
                if queue_empty():
                    return
                time.sleep(0.2)

    in_threads(workers, work)
    return sum(jobs), sum(failed)


def recording_events(stack: Any) -> list[dict[str, Any]]:
    """Every "Recording Available" event that reached the test queue."""
    out: list[dict[str, Any]] = []
    while got := stack.recording_events(wait_s=2 if not out else 0.5):
        out.extend(got)
    return out


def unfinished(stack: Any, planned: list[Planned]) -> int:
    from siprec_recorder.aws.calls_table import CallsTable

    table = CallsTable(stack.settings.calls_table, client=stack.client("dynamodb"))
    terminal = {"RECORDED", "RECORDED_ONE_WAY", "FAILED"}
    return sum(
        1
        for p in planned
        if (c := table.get(p.call.transaction_id)) is None or c.status.value not in terminal
    )


def dlq_depth(stack: Any) -> int:
    sqs = stack.client("sqs")
    total = 0
    for url in (stack.dlq_url, stack.event_dlq_url):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        total += int(attrs["ApproximateNumberOfMessages"])
        total += int(attrs["ApproximateNumberOfMessagesNotVisible"])
    return total


def run(calls: int, seed: int, workers: int, timeout_s: float) -> tuple[Verdict, dict[str, Any]]:
    """The whole load test; the verdict and the timings/counters for the report."""
    from siprec_recorder.local.driver import LocalPipeline
    from siprec_recorder.local.stack import LocalStack
    from siprec_recorder.simulate import ingest

    deadline = time.monotonic() + timeout_s
    t = time.perf_counter()
    planned = plan_calls(calls, seed)
    order, duplicates = hostile_order(planned, seed)
    stats: dict[str, Any] = {"simulate s": time.perf_counter() - t, "duplicates": duplicates}
    stats["events delivered"] = len(order)
    with LocalStack() as stack:
        for p in planned:
            ingest(p.call, stack.kvs)
        # LocalPipeline sets and restores os.environ around each invoke; with several threads
        # one thread's restore would pull variables from under another's invoke. Set them for
        # the whole run, so every save/restore puts back the same values.
        os.environ.update(LocalPipeline(stack).env)
        t = time.perf_counter()
        stats["event retries"] = deliver(stack, order, workers)
        stats["deliver s"] = time.perf_counter() - t
        t = time.perf_counter()
        jobs, failed = drain_all(stack, workers, deadline)
        stats["drain s"] = time.perf_counter() - t
        sweeps = 0
        while unfinished(stack, planned) and sweeps < 3 and time.monotonic() < deadline:
            time.sleep(1.1)  # the sweeper compares whole-second timestamps
            LocalPipeline(stack, extra_env=SWEEP_ENV).sweep()
            more = drain_all(stack, workers, deadline)
            jobs, failed, sweeps = jobs + more[0], failed + more[1], sweeps + 1
        stats.update({"recorder jobs": jobs, "recorder failed items": failed, "sweeps": sweeps})
        stats["pipeline s"] = time.perf_counter() - t + stats["deliver s"]
        verdict = check_all(stack, planned, recording_events(stack))
        stats["DLQ messages"] = dlq_depth(stack)
    if stats["DLQ messages"]:
        verdict.fail(f"{stats['DLQ messages']} messages in the DLQs")
    if time.monotonic() > deadline:
        verdict.fail(f"not finished within {timeout_s:.0f} s")
    return verdict, stats


def main(argv: list[str] | None = None) -> int:
    """Print the load-test report; exit 1 when any check failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seed", type=int, default=57)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole run")
    args = parser.parse_args(argv)
    log = OUT / "load" / "handlers-stdout.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh, contextlib.redirect_stdout(fh):  # the handlers' EMF lines
        verdict, stats = run(args.calls, args.seed, args.workers, args.timeout)
    print(f"### Load test: {args.calls} calls, hostile event order, concurrent workers\n")
    print(machine_header() + "\n")
    deliver_s, pipeline_s = stats["deliver s"], stats["pipeline s"]
    rows: list[list[object]] = [
        ["calls", args.calls],
        ["worker threads (StreamStatus / Recorder)", f"{args.workers} / {args.workers}"],
        ["events delivered (incl. duplicates)", stats["events delivered"]],
        ["duplicated events", stats["duplicates"]],
        ["StreamStatus invokes retried", stats["event retries"]],
        ["Recorder jobs run", stats["recorder jobs"]],
        ["Recorder failed items (retried)", stats["recorder failed items"]],
        ["sweeper runs", stats["sweeps"]],
        ["DLQ messages", stats["DLQ messages"]],
        *([k, n] for k, n in verdict.counts.items()),
        ["simulate s", f"{stats['simulate s']:.1f}"],
        ["deliver s", f"{deliver_s:.1f}"],
        ["events/s (delivery)", f"{stats['events delivered'] / deliver_s:.1f}"],
        ["deliver + drain + sweep s", f"{pipeline_s:.1f}"],
        ["calls/s (end to end)", f"{args.calls / pipeline_s:.2f}"],
    ]
    print(markdown_table(["measure", "value"], rows))
    print()
    if verdict.problems:
        print("FAILED:")
        for problem in verdict.problems:
            print(f"- {problem}")
        return 1
    print(
        "PASSED: every call in exactly one terminal state as its options expect, one manifest "
        "per call, every leg bit-exact, no object written twice, one Recording Available per call."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
