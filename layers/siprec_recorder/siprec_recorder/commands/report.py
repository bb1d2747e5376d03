"""`siprec-recorder report DIR|s3://bucket/prefix/ [--out PNG]`: one PNG of a recorded call.

Reads manifest.json and the audio it lists, draws each party's level over time with gaps,
silence and one-way audio marked. The PNG is written outside the recording folder (default:
`<interaction or transaction id>-report.png` here) so the recording itself is never changed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from siprec_recorder.errors import RecorderError

MAX_MANIFEST_BYTES = 16 << 20


def register(subparsers: Any) -> None:
    """Add the `report` parser."""
    parser = subparsers.add_parser(
        "report", help="draw a recorded call's levels, gaps and one-way audio", description=__doc__
    )
    parser.add_argument("target", help="recording folder (holding manifest.json) or s3://...")
    parser.add_argument("--out", type=Path, default=None, help="PNG to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the report of one recording; print where it went."""
    from siprec_recorder.commands.verify import local_root
    from siprec_recorder.recording.integrity import MANIFEST_NAME
    from siprec_recorder.recording.report import render_report

    with tempfile.TemporaryDirectory(prefix="siprec-report-") as tmp:
        root, folder = local_root(args.target, Path(tmp))
        manifest = load_manifest(root / MANIFEST_NAME)
        out = args.out or Path(f"{_safe_name(manifest)}-report.png")
        render_report(manifest, audio_paths(root, manifest, folder), out)
    print(out)
    return 0


def load_manifest(path: Path) -> dict[str, Any]:
    """manifest.json as a dict; RecorderError (exit 2) when it is not one."""
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise RecorderError("manifest.json is too large to be a manifest")
    try:
        doc = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise RecorderError(f"manifest.json is not JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("participants"), list):
        raise RecorderError("manifest.json has no 'participants' list")
    return doc


def audio_paths(root: Path, manifest: dict[str, Any], folder: str | None = None) -> dict[str, Path]:
    """Label -> local file of each participant's audio, plus "stereo". `folder`: the S3 folder
    the recording was read from (as verify binds keys to it), else the one its keys share."""
    from siprec_recorder.recording.integrity import recording_folder, resolve_key

    paths: dict[str, Path] = {}
    wanted = [
        (str(p.get("label")), p.get("key")) for p in manifest["participants"] if isinstance(p, dict)
    ]
    stereo = manifest.get("stereo")
    if isinstance(stereo, dict):
        wanted.append(("stereo", stereo.get("key")))
    objects = manifest.get("objects")
    listed = (
        [o.get("key") for o in objects if isinstance(o, dict)] if isinstance(objects, list) else []
    )
    if folder is None:
        keys = listed + [k for _, k in wanted]
        folder = recording_folder([k for k in keys if isinstance(k, str)])
    for label, key in wanted:
        if isinstance(key, str) and key:
            path = resolve_key(root, key, folder)
            if path is not None:
                paths.setdefault(label, path)
    return paths


def _safe_name(manifest: dict[str, Any]) -> str:
    """`<interaction id>-<transaction id>`: one name per recorded session (a conversation can
    have several), from key-safe segments; an id that could be a phone number is left out."""
    from siprec_recorder.recording.keys import safe_segment
    from siprec_recorder.recording.tags import could_be_personal

    ids = [str(manifest.get(k) or "") for k in ("interaction_id", "transaction_id")]
    usable = [safe_segment(i, limit=80) for i in ids if i and not could_be_personal(i)]
    return "-".join(usable) or "call"
