"""Whole-pipeline cost of long calls (issue 7.2): `python -m bench.pipeline [--quick]`.

15-minute, 1-hour and 4-hour two-party calls (generated once into bench/out/calls/) go through
(a) `siprec-recorder process` as one process, and (b) the Recorder handler in its own measured
process against the local stack, which runs in this (the bench) process: the stack's threads
serve KVS and S3 from here, so moto's in-memory copy of the recordings never counts against the
recorder. Each run is checked bit-exact against the simulator's PCM before it is reported.
Memory should be flat: the peak RSS of the three calls within 25 % of each other.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._calls import CallFiles, call_files, check_folder, check_manifest, wav_equal
from bench._cost import ARM_PRICE_PER_GB_S, vcpu_share
from bench._measure import (
    OUT,
    Measurement,
    child_env,
    machine_header,
    markdown_table,
    measure_command,
    measure_function,
)

FULL = (("15 min", 900.0), ("1 h", 3600.0), ("4 h", 14400.0))
QUICK = (("1 min", 60.0), ("4 min", 240.0), ("16 min", 960.0))
SEED = 70
FLAT = 1.25
RECORDER_MB = 1024  # template.yaml RecorderMemorySize default (tests/bench check it)


@dataclass(frozen=True)
class Run:
    """One call through one path, measured and checked."""

    path: str
    label: str
    call_s: float
    m: Measurement
    problems: list[str]
    invokes: int = 1

    @property
    def cpu_per_call_hour(self) -> float:
        return self.m.cpu_s / (self.call_s / 3600)


def cli() -> list[str]:
    """The `siprec-recorder` console script of this interpreter (or `python -m ...cli`)."""
    script = Path(sys.executable).with_name("siprec-recorder")
    return [str(script)] if script.exists() else [sys.executable, "-m", "siprec_recorder.cli"]


def run_process(label: str, call: CallFiles) -> Run:
    """(a) the offline recorder step as a whole process."""
    out = OUT / "pipeline" / f"process-{int(call.duration_s)}s"
    shutil.rmtree(out, ignore_errors=True)
    argv = [*cli(), "process", "--out", str(out)]
    for event in call.event_files:
        argv += ["--event", str(event)]
    for arn, path in call.media.items():
        argv += ["--media", f"{arn}={path}"]
    m = measure_command(argv, env=child_env()).check(f"process {label}")
    manifest = json.loads(m.stdout)
    problems = check_folder(out, manifest, call)
    shutil.rmtree(out, ignore_errors=True)
    return Run("process", label, call.duration_s, m, problems)


def run_stack(label: str, call: CallFiles) -> Run:
    """(b) StreamStatus here, then the Recorder handler alone in a measured child."""
    from siprec_recorder.aws.calls_table import CallsTable
    from siprec_recorder.local.driver import LocalPipeline
    from siprec_recorder.local.stack import LocalStack

    with LocalStack() as stack:
        for arn, path in call.media.items():
            stack.kvs.ingest_mkv(arn, path)
        pipeline = LocalPipeline(stack)
        pipeline.send_events(call.events())
        m = measure_function("bench._remote:drain", env=child_env(pipeline.env), timeout_s=3600)
        m.check(f"recorder {label}")
        result = m.result()
        stored = CallsTable(stack.settings.calls_table, client=stack.client("dynamodb")).get(
            call.transaction_id
        )
        problems = _check_stack(stack, stored, call)
        invokes = int(result["totals"].get("recorder", {}).get("invokes", 0))
    return Run("local stack: Recorder", label, call.duration_s, m, problems, invokes)


def _check_stack(stack: Any, stored: Any, call: CallFiles) -> list[str]:
    """The call is RECORDED and every party's object equals the source PCM."""
    if stored is None or stored.status.value != "RECORDED" or not stored.manifest_key:
        return [f"call status {stored.status.value if stored else 'missing'}"]
    s3, bucket = stack.client("s3"), stack.settings.bucket
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=stored.manifest_key)["Body"].read())
    problems = check_manifest(manifest, call)
    tmp = OUT / "pipeline" / "s3-party.wav"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    for party in manifest.get("participants", []):
        s3.download_file(bucket, party["key"], str(tmp))
        if not wav_equal(tmp, call.references[str(party["label"])]):
            problems.append(f"participant {party['label']} audio differs from the source")
    tmp.unlink(missing_ok=True)
    return problems


def _gbs(r: Run) -> float:
    """Lambda GB-s per call-hour of this run's CPU at the Recorder's memory (CPU-bound)."""
    return r.cpu_per_call_hour / vcpu_share(RECORDER_MB) * RECORDER_MB / 1024


def _usd(r: Run) -> float:
    """Duration cost of 1,000 call-hours at that rate."""
    return 1000 * _gbs(r) * ARM_PRICE_PER_GB_S


def report(runs: list[Run]) -> str:
    """The table, the flatness verdict per path and the notes."""
    rows = [
        [
            r.path,
            r.label,
            f"{r.m.wall_s:.1f}",
            f"{r.m.cpu_s:.1f}",
            f"{r.cpu_per_call_hour:.1f}",
            f"{r.m.peak_rss_mib:.0f}",
            r.invokes,
            "bit-exact" if not r.problems else "; ".join(r.problems)[:80],
        ]
        for r in runs
    ]
    headers = ["path", "call", "wall s", "CPU s", "CPU s / call-hour", "peak RSS MiB"]
    lines = [markdown_table([*headers, "invokes", "check"], rows), ""]
    for path in dict.fromkeys(r.path for r in runs):
        rss = [r.m.peak_rss_mib for r in runs if r.path == path]
        ratio = max(rss) / min(rss)
        verdict = "flat" if ratio <= FLAT else "NOT flat"
        lines.append(
            f"- {path}: peak RSS {min(rss):.0f}–{max(rss):.0f} MiB, max/min {ratio:.2f} "
            f"→ {verdict} (target ≤ {FLAT:.2f})"
        )
    recorder = [r for r in runs if r.path.startswith("local stack")]
    if recorder:
        est = ", ".join(f"{r.label} {_gbs(r):.1f} GB-s (USD {_usd(r):.2f})" for r in recorder)
        lines += [
            "",
            f"- Recorder at {RECORDER_MB} MB ({vcpu_share(RECORDER_MB):.3f} vCPU), CPU-bound, "
            f"per call-hour (USD per 1,000 call-hours of arm64 duration): {est}. The CPU "
            "includes the process's start-up and imports (a cold start every call).",
        ]
    lines += [
        "",
        "Notes: CPU s = user + sys of the measured process, peak RSS = its ru_maxrss (os.wait4 "
        "in a small wrapper process, so the bench's own memory is not inherited). `process` "
        "is the whole CLI process (interpreter, imports, decode, files "
        "out). The local-stack row is the Recorder handler alone in its own process, draining "
        "the queue against the stack (moto + KVS server) that runs in the bench process, so "
        "the stack's S3 copy of the outputs is not counted; StreamStatus ran in the bench "
        "process. Every row was checked bit-exact against the simulator's source PCM.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the pipeline table; exit 1 if a run produced a wrong recording."""
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline")
    parser.add_argument("--quick", action="store_true", help="1/4/16-minute calls")
    args = parser.parse_args(argv)
    calls = [(label, call_files(s, SEED)) for label, s in (QUICK if args.quick else FULL)]
    runs = [run_process(label, call) for label, call in calls]
    runs += [run_stack(label, call) for label, call in calls]
    print("### Pipeline: long calls, whole process vs Recorder handler\n")
    print(machine_header() + "\n")
    print(report(runs))
    return 1 if any(r.problems for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
