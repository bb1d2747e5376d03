"""The measurement helpers report what the child actually did (never timed benchmarks)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench._measure import cpu_model, markdown_table, measure_command, measure_function

ALLOCATE = "b = bytearray({mib} << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"


def test_peak_rss_is_per_run_not_cumulative() -> None:
    big = measure_command([sys.executable, "-c", ALLOCATE.format(mib=300)]).check("big")
    small = measure_command([sys.executable, "-c", "pass"]).check("small")
    # the child touched 300 MiB of pages: its peak RSS holds at least that
    assert big.peak_rss_mib >= 300
    # a bare interpreter is far smaller; a cumulative RUSAGE_CHILDREN would still say 300+
    assert small.peak_rss_mib < 100


def test_cpu_and_wall_are_told_apart() -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
    busy = measure_command([sys.executable, "-c", spin]).check("busy")
    idle = measure_command([sys.executable, "-c", "import time; time.sleep(0.5)"]).check("idle")
    assert busy.cpu_s >= 0.4  # the child spun 0.4 s of its own CPU time
    assert idle.wall_s >= 0.5  # ... and slept 0.5 s
    assert idle.cpu_s < 0.4  # sleeping is not CPU time


def test_exit_status_and_output_are_kept() -> None:
    m = measure_command([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"])
    assert m.returncode == 3 and m.stdout.strip() == "out"
    with pytest.raises(RuntimeError, match="exited 3"):
        m.check("child")


def test_timeout_kills_the_child() -> None:
    m = measure_command([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.5)
    assert m.returncode == -9 and m.wall_s < 10


def test_function_runs_in_a_fresh_process_and_returns_json() -> None:
    m = measure_function("os:getpid").check("getpid")
    import os

    assert isinstance(m.result(), int) and m.result() != os.getpid()


def test_cpu_model_is_the_one_in_proc_cpuinfo() -> None:
    names = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    if names:
        assert cpu_model() == names[0]
    else:
        assert cpu_model()


def test_markdown_table_shape_and_alignment() -> None:
    text = markdown_table(["name", "ms"], [["a", "1.5"], ["b", "**2**"], ["total", ""]])
    lines = text.splitlines()
    assert lines[0] == "| name | ms |"
    assert lines[1] == "|---|---:|"  # numbers (and empty cells) right-aligned
    assert lines[3] == "| b | **2** |"
    with pytest.raises(ValueError):
        markdown_table(["a", "b"], [["only one"]])


def test_a_big_parent_does_not_inflate_the_childs_peak_rss() -> None:
    # Linux carries the pre-exec address space's RSS high-water mark into ru_maxrss: a child
    # forked straight from this 400 MiB process would report >= 400 MiB.
    ballast = bytearray(400 << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    small = measure_command([sys.executable, "-c", "pass"]).check("small")
    assert small.peak_rss_mib < 100
    del ballast
