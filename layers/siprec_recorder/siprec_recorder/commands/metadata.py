"""`siprec-recorder metadata FILE`: parse SIPREC metadata and print who is on which stream.

FILE may be the metadata XML, a multipart body, a whole SIP message or a Chime Streaming Status
event (JSON); `-` reads stdin. With an event, its `direction`, `isCaller` and `sdp.mediaLabel`
give the roles; otherwise `--direction` and the SRC's own caller hints do.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `metadata` subcommand."""
    parser = subparsers.add_parser(
        "metadata",
        help="parse SIPREC metadata (XML, multipart, SIP message or Chime event) and print JSON",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("file", help="input file, or - for stdin")
    parser.add_argument("--headers", metavar="HEADERS.json", help="SIP headers as a JSON object")
    parser.add_argument(
        "--direction", choices=["Inbound", "Outbound"], help="call direction, as Chime reports it"
    )
    parser.add_argument("--agent-aor-pattern", help="regex: aors that are agents (default: env)")
    parser.add_argument(
        "--extractors", help="interaction id extractors, e.g. 'header:x-inin-cnv,calluuid'"
    )
    parser.add_argument("--max-bytes", type=int, default=1 << 20, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def _read(path: str, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes, so an oversized file is refused without reading it all."""
    if path == "-":
        return sys.stdin.buffer.read(max_bytes + 1)
    with open(path, "rb") as handle:
        return handle.read(max_bytes + 1)


def _event_hints(data: bytes) -> dict[str, Any]:
    """direction / isCaller / mediaLabel from a Chime event, when the input is one."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return {}
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return {}  # the parser reports the error
    detail = obj.get("detail", obj) if isinstance(obj, dict) else {}
    if not isinstance(detail, dict):
        return {}
    raw_sdp = detail.get("sdp")
    sdp: dict[str, Any] = raw_sdp if isinstance(raw_sdp, dict) else {}
    hints: dict[str, Any] = {}
    if isinstance(detail.get("direction"), str):
        hints["direction"] = detail["direction"]
    if isinstance(detail.get("isCaller"), bool) and isinstance(sdp.get("mediaLabel"), str):
        hints["is_caller"] = detail["isCaller"]
        hints["caller_label"] = sdp["mediaLabel"]
    return hints


def _load_headers(path: str | None) -> dict[str, str] | None:
    from siprec_recorder.errors import MetadataError

    if path is None:
        return None
    with open(path, "rb") as handle:
        raw = handle.read(1 << 20)
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise MetadataError("--headers file is not valid JSON") from None
    if isinstance(obj, dict) and isinstance(obj.get("inviteHeaders"), dict):
        obj = obj["inviteHeaders"]
    if not isinstance(obj, dict):
        raise MetadataError("--headers file is not a JSON object of header names to values")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()}


def run(args: argparse.Namespace) -> int:
    """Parse, correlate and print one JSON object; RecorderError -> exit 2 (cli.py)."""
    from siprec_recorder.config import Settings
    from siprec_recorder.metadata.interaction import DEFAULT_EXTRACTORS, extractors_from_spec
    from siprec_recorder.metadata.parse import parse_metadata
    from siprec_recorder.metadata.serialize import summary

    data = _read(args.file, args.max_bytes)
    headers = _load_headers(args.headers)
    meta = parse_metadata(data, headers=headers, max_bytes=args.max_bytes)
    hints = _event_hints(data)
    pattern = args.agent_aor_pattern
    if pattern is None:
        pattern = Settings.from_env().agent_aor_pattern or None
    extractors = extractors_from_spec(args.extractors) if args.extractors else DEFAULT_EXTRACTORS
    out = summary(
        meta,
        headers=headers,
        direction=args.direction or hints.get("direction"),
        caller_label=hints.get("caller_label"),
        is_caller=hints.get("is_caller"),
        agent_aor_pattern=pattern,
        extractors=extractors,
    )
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
