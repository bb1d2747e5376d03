"""Per-run resource measurement for the benchmarks: wall s, CPU s and peak RSS of one child.

`os.wait4` returns the rusage of exactly the child it reaped (and the descendants that child
waited for), so every run is measured on its own even when the parent measured others before;
RUSAGE_CHILDREN would accumulate across runs. Also the machine header every table is printed
under, and a markdown table helper.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT = REPO_ROOT / "bench" / "out"
RESULT_MARK = "@@BENCH-RESULT@@ "


@dataclass(frozen=True)
class Measurement:
    """One child run: wall and CPU seconds, peak RSS (MiB), exit status and its output."""

    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def result(self) -> Any:
        """The JSON a `measure_function` child printed (None when it printed none)."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK) :])
        return None

    def check(self, what: str) -> Measurement:
        """Raise with the tail of stderr when the child failed (a benchmark of a failure lies)."""
        if self.returncode != 0:
            raise RuntimeError(f"{what} exited {self.returncode}: {self.stderr[-1500:]}")
        return self


def measure_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 3600.0,
) -> Measurement:
    """Run `argv` to completion; its own rusage via wait4 (killed after `timeout_s`)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd or REPO_ROOT,
            start_new_session=True,
        )
        timer = threading.Timer(timeout_s, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Measurement(
            wall_s=wall,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            peak_rss_mib=usage.ru_maxrss / 1024,  # Linux: KiB
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def measure_function(
    target: str,
    *args: Any,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 3600.0,
) -> Measurement:
    """Call `module:function(*args)` in a fresh interpreter; its JSON return is `.result()`."""
    module, _, func = target.partition(":")
    code = (
        "import importlib, json, sys\n"
        f"fn = getattr(importlib.import_module({module!r}), {func!r})\n"
        "result = fn(*json.loads(sys.argv[1]))\n"
        f"print({RESULT_MARK!r} + json.dumps(result), flush=True)\n"
    )
    argv = [sys.executable, "-c", code, json.dumps(list(args))]
    return measure_command(argv, env=child_env(env), timeout_s=timeout_s)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment plus `extra`, with the repository importable (bench.* and tests.*)."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = f"{REPO_ROOT}{os.pathsep}{path}" if path else str(REPO_ROOT)
    env.update(extra or {})
    return env


# -- machine header -------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (x86 "model name", Arm "CPU part"/"Hardware")."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    for key in ("model name", "Hardware", "CPU part", "cpu model"):
        if fields.get(key):
            return fields[key]
    return platform.processor() or "unknown"


def memory_gib() -> float:
    """MemTotal from /proc/meminfo in GiB (0 when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1 << 20)
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def machine() -> dict[str, str]:
    """What the numbers depend on: platform, CPU model, cores, memory, Python."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "memory": f"{memory_gib():.1f} GiB",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def machine_header() -> str:
    """The machine as a markdown line, printed above every table."""
    m = machine()
    return (
        f"_Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; {m['platform']}; "
        f"{m['python']}._"
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; columns whose header ends with a unit or is numeric align right."""
    if any(len(row) != len(headers) for row in rows):
        raise ValueError("every row needs one cell per header")
    cells = [[str(c) for c in row] for row in rows]
    align = [
        "---:" if cells and all(_numeric(row[i]) for row in cells if row[i]) else "---"
        for i in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", "").strip("*").rstrip("%×x"))
    except ValueError:
        return False
    return True
