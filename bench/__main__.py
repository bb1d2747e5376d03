"""`make bench` = `python -m bench [--quick] [--only NAME ...]`: every benchmark, as markdown.

Decoder (when bench/decode.py is there), SIPREC metadata, long-call pipeline, handler cold
start, concurrent-call throughput with the Lambda cost model. Each also runs alone
(`python -m bench.pipeline`). Exit 1 when a section fails (a wrong recording, a missed
budget, a crash); the summary says which.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import time
import traceback
from collections.abc import Callable

from bench._measure import machine_header, markdown_table

SECTIONS = ("decode", "metadata", "pipeline", "coldstart", "throughput")
TAKES_QUICK = ("pipeline", "throughput")


def section(name: str, quick: bool) -> Callable[[], int | None] | None:
    """The section's entry point, or None when its module is not there (yet)."""
    if importlib.util.find_spec(f"bench.{name}") is None:
        return None
    main: Callable[..., int | None] = importlib.import_module(f"bench.{name}").main
    if name in TAKES_QUICK:
        return lambda: main(["--quick"] if quick else [])
    return main


def main(argv: list[str] | None = None) -> int:
    """Run the sections in order; print each one's tables, then a summary."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="shorter calls, fewer rounds")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    args = parser.parse_args(argv)
    print("# siprec-recorder benchmarks\n")
    print(machine_header() + "\n")
    summary: list[list[object]] = []
    for name in args.only or SECTIONS:
        entry = section(name, args.quick)
        if entry is None:
            summary.append([name, "-", "not present"])
            continue
        print(f"\n## {name}\n", flush=True)
        start = time.perf_counter()
        try:
            status = entry() or 0
        except Exception:  # noqa: BLE001 - one broken section must not hide the others
            traceback.print_exc()
            status = 2
        verdict = {0: "ok", 1: "FAILED (see its table)"}.get(status, "CRASHED")
        summary.append([name, f"{time.perf_counter() - start:.0f}", verdict])
        print(flush=True)
    print("\n## summary\n")
    print(markdown_table(["section", "seconds", "result"], summary))
    return 0 if all(row[2] in ("ok", "not present") for row in summary) else 1


if __name__ == "__main__":
    raise SystemExit(main())
