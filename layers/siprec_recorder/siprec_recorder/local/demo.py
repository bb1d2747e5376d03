"""`make demo`: one simulated SIPREC call through the real handlers on the local stack.

Simulate a call (two legs in Chime's KVS layout, STARTED/UPDATED/ENDED events), ingest its
media into our local KVS server, deliver the events to the StreamStatus function, let the
Recorder drain the queue, download what landed in S3 and summarise it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siprec_recorder.aws.calls_table import CallsTable
from siprec_recorder.errors import RecorderError
from siprec_recorder.local.driver import LocalPipeline
from siprec_recorder.local.stack import LocalStack
from siprec_recorder.simulate import SimulatedCall, ingest, simulate_call


@dataclass
class DemoResult:
    """What the demo produced: the call, its manifest, tags per key and the final call status."""

    call: SimulatedCall
    manifest: dict[str, Any]
    tags: dict[str, dict[str, str]]
    status: str
    out: Path


MARKER = ".siprec-recorder-demo"  # marks a folder the demo wrote (and may replace)


def prepare_out(out: Path) -> None:
    """Empty `out` for a new run, but only if a previous demo wrote it: `--out ~/work` must
    not delete someone's folder. RecorderError names a folder it will not touch."""
    if out.exists():
        if not out.is_dir():
            raise RecorderError(f"--out {out}: not a folder")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise RecorderError(
                f"--out {out}: folder is not empty and not a demo output (nothing deleted); "
                "choose a new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by siprec-recorder demo; replaced by the next run\n")


def run_demo(out: Path, *, duration_s: float = 120, seed: int = 7) -> DemoResult:
    """Run one call end to end on a fresh local stack; objects are copied under `out`."""
    call = simulate_call(duration_s=duration_s, seed=seed, updated=True)
    prepare_out(out)
    with LocalStack() as stack:
        ingest(call, stack.kvs)
        pipeline = LocalPipeline(stack)
        pipeline.send_events(call.events)
        pipeline.drain()
        tags = pipeline.download(out)
        table = CallsTable(stack.settings.calls_table, client=stack.client("dynamodb"))
        stored = table.get(call.transaction_id)
    status = stored.status.value if stored else "UNKNOWN"
    manifests = sorted(out.rglob("manifest.json"))
    if not manifests:
        raise RecorderError(f"no recording landed in S3 (call status {status})")
    manifest = json.loads(manifests[0].read_text())
    return DemoResult(call, manifest, tags, status, out)


def summary(result: DemoResult) -> str:
    """The table `make demo` prints: who, roles, ids, duration, levels, keys and tags."""
    m = result.manifest
    lines = [
        f"call status        {result.status}",
        f"interaction id     {m.get('interaction_id')}  (from {m.get('interaction_id_source')})",
        f"transaction id     {m.get('transaction_id')}",
        f"duration           {m.get('duration_seconds')} s   format {m.get('format')}",
        f"one-way            {m.get('one_way') or 'no'}",
        "",
        f"{'label':<6} {'role':<9} {'caller':<7} {'name':<14} {'samples':>9} {'gaps':>5} "
        f"{'RMS dBFS':>9} {'peak':>7}",
    ]
    for p in m.get("participants", []):
        lines.append(
            f"{str(p.get('label')):<6} {str(p.get('role')):<9} {str(p.get('is_caller')):<7} "
            f"{str(p.get('name'))[:14]:<14} {p.get('samples', 0):>9} {p.get('gaps', 0):>5} "
            f"{_num(p.get('level_dbfs')):>9} {_num(p.get('peak_dbfs')):>7}"
        )
    stereo = m.get("stereo") or {}
    levels = stereo.get("levels") or {}
    lines += [
        "",
        f"stereo: left = label {stereo.get('left')} "
        f"({_num((levels.get('left') or {}).get('rms_dbfs'))} dBFS), right = label "
        f"{stereo.get('right')} ({_num((levels.get('right') or {}).get('rms_dbfs'))} dBFS)",
        "",
        "timeline:",
    ]
    for t in m.get("timeline", []):
        lines.append(
            f"  {t.get('role', '?'):<9} {str(t.get('name'))[:14]:<14} label {t.get('label')}: "
            f"{t.get('from')} -> {t.get('to')}"
            f" ({t.get('event')} / {t.get('end')})"
        )
    lines += ["", "S3 objects (key, bytes, tags):"]
    for obj in m.get("objects", []):
        tag_text = ", ".join(f"{k}={v}" for k, v in sorted(result.tags.get(obj["key"], {}).items()))
        lines.append(f"  {obj['key']}  {obj['bytes']}  [{tag_text}]")
    lines += ["", f"downloaded to {result.out}/"]
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"
