"""`siprec-recorder process`: the recorder step offline (events + media files -> a folder)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `process` subcommand."""
    from siprec_recorder.recording.encode import SPECS

    p: argparse.ArgumentParser = sub.add_parser(
        "process",
        help="run the recorder step on events and media files (support cases)",
        description="Fold Streaming Status events, decode each stream's MKV dump and write "
        "the same keys the Recorder writes to S3 under --out. Prints the manifest.",
    )
    p.add_argument(
        "--event",
        action="append",
        required=True,
        type=Path,
        metavar="E.json",
        help="a Streaming Status event (repeat; order does not matter)",
    )
    p.add_argument(
        "--media",
        action="append",
        default=[],
        metavar="STREAM_ARN=FILE.mkv",
        help="a stream's media dumped from KVS (repeat)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--format", choices=tuple(SPECS), default="wav")
    p.add_argument("--prefix", default="recordings/", help="key prefix (as RECORDINGS_PREFIX)")
    p.add_argument("--report", action="store_true", help="also render report.png")
    p.add_argument("--agent-aor-pattern", default="", help="regex: aors that are agents")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Process one call; exit 0 recorded (even one-way), 2 on bad input."""
    from siprec_recorder.pipeline.offline import load_event_file, parse_media_args, process_call
    from siprec_recorder.recording.keys import normalise_prefix
    from siprec_recorder.recording.model import OutputOptions

    events = [load_event_file(path) for path in args.event]
    media = parse_media_args(args.media)
    options = OutputOptions(
        fmt=args.format, prefix=normalise_prefix(args.prefix), report=args.report
    )
    outcome = process_call(
        events, media, args.out, options, agent_aor_pattern=args.agent_aor_pattern or None
    )
    json.dump(outcome.manifest, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0
