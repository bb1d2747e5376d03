"""`siprec-recorder verify DIR|s3://bucket/prefix/`: is this recording exactly what was written?

Checks every object's size and SHA-256 against manifest.json, flags missing and extra objects and
checks manifest.json.sig with KMS when credentials (or an endpoint) are there. One finding per
line; exit 0 when everything matches, 1 when something does not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from siprec_recorder.errors import RecorderError


def register(subparsers: Any) -> None:
    """Add the `verify` parser."""
    parser = subparsers.add_parser(
        "verify", help="check a recording's digests and signature", description=__doc__
    )
    parser.add_argument(
        "target", help="recording folder (holding manifest.json) or s3://bucket/prefix/"
    )
    parser.add_argument(
        "--require-signature",
        action="store_true",
        help="treat an absent or unchecked signature as a failure",
    )
    parser.add_argument(
        "--key-id",
        action="append",
        default=None,
        help="trusted KMS signing key (id, alias or ARN); default SIGNING_KEY_ID; repeatable",
    )
    parser.add_argument("--no-kms", action="store_true", help="do not call KMS (digests only)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify one recording and print each finding on its own line."""
    from siprec_recorder.config import Settings
    from siprec_recorder.recording.integrity import SIGNATURE_NAME, check_recording

    trusted = args.key_id or [k for k in [Settings.from_env().signing_key_id] if k]
    if args.no_kms:
        trusted = []  # digests only: a configured key does not make the signature required
    with tempfile.TemporaryDirectory(prefix="siprec-verify-") as tmp:
        root, folder = local_root(args.target, Path(tmp))
        verifier = None
        if not args.no_kms and (root / SIGNATURE_NAME).is_file():
            from siprec_recorder.aws.kms_signer import verifier_from_environment

            verifier = verifier_from_environment()
        result = check_recording(
            root,
            verifier=verifier,
            require_signature=args.require_signature,
            trusted_key_ids=trusted,
            folder=folder,
        )
    for problem in result.problems:
        print(_printable(f"MISMATCH {problem}"))
    for note in result.notes:
        print(_printable(note))
    if result.signature_valid:
        print(f"signature valid: key {result.signature_key_id}")
    if result.problems:
        print(f"FAILED: {len(result.problems)} problem(s) in {args.target}")
        return 1
    print(f"OK: {result.objects_checked} object(s) match the manifest")
    return 0


def _printable(line: str) -> str:
    """A key from a hostile manifest may hold lone surrogates or controls: escape them."""
    text = line.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def local_root(target: str, scratch: Path) -> tuple[Path, str | None]:
    """The local folder to check (the target itself, or the S3 prefix downloaded to scratch),
    and for S3 the folder its objects must have been read from (their keys are bound to it)."""
    if target.startswith("s3://"):
        from siprec_recorder.aws.s3_tree import download_prefix, parse_s3_url

        _bucket, prefix = parse_s3_url(target)
        downloaded = download_prefix(target, scratch / "recording")
        root = find_manifest_dir(downloaded)
        below = root.relative_to(downloaded).as_posix()
        return root, prefix + ("" if below == "." else below + "/")
    path = Path(target)
    if not path.is_dir():
        raise RecorderError(f"not a folder: {target[:200]}")
    return find_manifest_dir(path), None


def find_manifest_dir(path: Path) -> Path:
    """The folder itself when it holds manifest.json, else the one folder below that does."""
    if (path / "manifest.json").is_file():
        return path
    found = [p.parent for p in path.rglob("manifest.json")][:2]
    if len(found) == 1:
        return found[0]
    if not found:
        raise RecorderError("no manifest.json in the folder or below it")
    raise RecorderError("more than one manifest.json below the folder: name one recording")
