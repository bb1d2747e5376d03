"""`siprec-recorder doctor`: check a deployment and print each finding with its fix.

Exit status 0 when every check is OK, 1 when any finding is WARN or FAIL (2 on usage errors or
when AWS cannot be reached at all, via cli.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TextIO

from siprec_recorder.config import ENV_PREFIX, Settings
from siprec_recorder.errors import RecorderError

if TYPE_CHECKING:
    from siprec_recorder.aws.findings import Finding


def register(subparsers: Any) -> None:
    """Add the `doctor` parser."""
    p = subparsers.add_parser(
        "doctor",
        help="check a deployment (bucket, Recorder role, Voice Connector, rule, table)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--stack", default="", help="CloudFormation stack name (fills the rest)")
    p.add_argument("--bucket", default="", help="recordings bucket")
    p.add_argument("--prefix", default="", help="recordings prefix (default recordings/)")
    p.add_argument("--table", default="", help="calls table")
    p.add_argument("--voice-connector-id", default="", help="Chime SDK Voice Connector id")
    p.add_argument("--recorder-role", default="", help="ARN of the Recorder function's role")
    p.add_argument("--function-arn", default="", help="ARN of the StreamStatus function")
    p.add_argument("--rule", default="", help="name of the Streaming Status EventBridge rule")
    p.add_argument("--event-bus", default="", help="bus of that rule (default: default)")
    p.add_argument("--region", default="", help="AWS region (default: AWS_REGION or profile)")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also write and delete a small object in the bucket with your credentials",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the Deployment from the flags (and the stack), run the checks, print them."""
    from siprec_recorder.aws.deployment import Clients, Deployment, default_region, run_doctor

    region = args.region or default_region()
    if not region:
        raise RecorderError("no AWS region: pass --region or set AWS_REGION")
    if not (args.stack or args.bucket or args.voice_connector_id or args.table):
        raise RecorderError(
            "nothing to check: pass --stack, or --bucket/--table/--voice-connector-id"
        )
    dep = Deployment(
        region=region,
        stack=args.stack,
        bucket=args.bucket,
        prefix=_prefix(args.prefix) if args.prefix else Deployment(region).prefix,
        table=args.table,
        voice_connector_id=args.voice_connector_id,
        recorder_role_arn=args.recorder_role,
        stream_status_function_arn=args.function_arn,
        rule_name=args.rule,
        event_bus=args.event_bus or "default",
    )
    findings = run_doctor(dep, Clients.for_region(region), probe=args.probe)
    print_findings(findings, sys.stdout, as_json=args.json)
    return exit_status(findings)


def exit_status(findings: Sequence[Finding]) -> int:
    """0 only when every finding is OK."""
    return 0 if findings and all(f.status == "OK" for f in findings) else 1


def print_findings(findings: Sequence[Finding], out: TextIO, as_json: bool = False) -> None:
    """One line per finding, the fix indented below it; a summary line at the end."""
    if as_json:
        for f in findings:
            out.write(json.dumps(asdict(f), sort_keys=True) + "\n")
        return
    for f in findings:
        out.write(f"[{f.status:<4}] {f.check}: {f.detail}\n")
        if f.fix and f.status != "OK":
            out.write(f"       fix: {f.fix}\n")
    counts = {s: sum(1 for f in findings if f.status == s) for s in ("OK", "WARN", "FAIL")}
    out.write(f"{counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL\n")


def _prefix(value: str) -> str:
    """Normalise like the functions do (Settings reads RECORDINGS_PREFIX the same way)."""
    return Settings.from_env({ENV_PREFIX: value}).prefix
