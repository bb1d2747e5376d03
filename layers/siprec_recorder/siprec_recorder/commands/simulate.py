"""`siprec-recorder simulate`: write a realistic SIPREC call (events, KVS media, reference PCM)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `simulate` parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "simulate",
        help="write a simulated SIPREC call: events/*.json, media/<stream>.mkv, call.json",
        description=__doc__,
    )
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--duration", type=float, default=120.0, metavar="S", help="seconds (120)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="same seed, same call")
    p.add_argument("--reused-stream", action="store_true", help="other calls on the streams")
    p.add_argument("--gaps", action="store_true", help="a media gap (hold) on each leg")
    p.add_argument("--late-join", type=float, default=0.0, metavar="S", help="agent leg late")
    p.add_argument("--missing-leg", action="store_true", help="the agent leg never arrives")
    p.add_argument("--updated", action="store_true", help="a transfer announced by UPDATED")
    p.add_argument("--start-ms", type=int, default=None, help="call start, epoch ms")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate and write; prints the path of call.json."""
    from siprec_recorder.simulate import simulate_call
    from siprec_recorder.simulate.files import write_call

    call = simulate_call(  # a ValueError (bad option) becomes exit 2 + one line in cli.py
        duration_s=args.duration,
        seed=args.seed,
        reused_stream=args.reused_stream,
        gaps=args.gaps,
        late_join_s=args.late_join,
        missing_leg=args.missing_leg,
        updated=args.updated,
        start_ms=args.start_ms,
    )
    path = write_call(call, args.out)
    print(path)
    return 0
