"""Per-run resource measurement for the benchmarks: wall s, CPU s and peak RSS of one child.

A tiny wrapper process spawns the command and reaps it with `os.wait4`, which returns the
rusage of exactly that child (and the descendants it waited for): every run is measured on its
own, never accumulated like RUSAGE_CHILDREN, and never inflated by the bench's own memory (see
WRAPPER). Also the machine header every table is printed under, and a markdown table helper.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT = REPO_ROOT / "bench" / "out"
RESULT_MARK = "@@BENCH-RESULT@@ "
# Linux records the RSS high-water mark of the address space a process had before exec() into
# its ru_maxrss: a child forked straight from the bench (which may hold the local stack's
# gigabytes) would report the bench's RSS. So a small interpreter (-S: no site) is forked
# instead, and it forks the measured command and reaps it with wait4: that rusage is the
# command's own, whatever the bench holds and however many runs came before.
WRAPPER = """
import json, os, subprocess, sys, time
spec = json.loads(sys.argv[1])
start = time.perf_counter()
proc = subprocess.Popen(spec["argv"], stdin=subprocess.DEVNULL)
_, status, ru = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
proc.returncode = os.waitstatus_to_exitcode(status)
with open(spec["report"], "w") as fh:
    json.dump({"wall_s": wall, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
               "maxrss_kib": ru.ru_maxrss, "returncode": proc.returncode}, fh)
"""


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
    """Run `argv` to completion through the small wrapper; its own rusage (killed after
    `timeout_s`, with its process group)."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        report = Path(tmp) / "rusage.json"
        spec = json.dumps({"argv": list(argv), "report": str(report)})
        wrapper = subprocess.Popen(
            [sys.executable, "-S", "-c", WRAPPER, spec],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd or REPO_ROOT,
            start_new_session=True,
        )
        try:
            wrapper.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(wrapper.pid)
            wrapper.wait()
        out.seek(0)
        err.seek(0)
        got = json.loads(report.read_text()) if report.is_file() else {}
        return Measurement(
            wall_s=float(got.get("wall_s", timeout_s)),
            user_s=float(got.get("user_s", 0.0)),
            sys_s=float(got.get("sys_s", 0.0)),
            peak_rss_mib=float(got.get("maxrss_kib", 0)) / 1024,  # Linux: KiB
            returncode=int(got.get("returncode", -9)),
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
