"""`siprec-recorder demo`: a simulated call through the whole pipeline on the local stack."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `demo` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="simulate a call and run it through the local stack (no AWS account)"
    )
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="where to download")
    p.add_argument("--duration", type=float, default=120.0, help="call length in seconds")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print its summary; exit 1 if the call did not end RECORDED."""
    from siprec_recorder.local.demo import run_demo, summary

    result = run_demo(args.out, duration_s=args.duration, seed=args.seed)
    print(summary(result))
    return 0 if result.status == "RECORDED" else 1
