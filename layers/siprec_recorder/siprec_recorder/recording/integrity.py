"""Tamper evidence for a finished recording: a signed manifest and a checker for it.

The manifest lists every object with its size and SHA-256; `manifest.json.sig` holds a signature
over the manifest's own SHA-256 (KMS in production). `check_recording` recomputes everything from
the bytes on disk, so a changed byte, a missing or an extra object, an edited manifest or a bad
signature each produce a `Problem` that names exactly what does not match. Sans-IO except for
reading the directory; the signature check goes through a `Verifier` (KMS adapter in aws/).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from siprec_recorder.recording.store import Digests

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"
TAGS_SUFFIX = ".tags.json"
SIGNATURE_FORMAT = "siprec-recorder-manifest-signature/1"
MAX_MANIFEST_BYTES = 16 << 20  # a manifest is a few KiB; refuse anything absurd fast
MAX_SIGNATURE_BYTES = 64 << 10
MAX_OBJECTS = 10_000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


@dataclass(frozen=True)
class Problem:
    """One thing that does not match: the object key (or file name) and what is wrong with it."""

    key: str
    what: str

    def __str__(self) -> str:
        return f"{self.key}: {self.what}"


class Signer(Protocol):
    """Signs a SHA-256 digest (KMS `Sign` with MessageType=DIGEST in production)."""

    key_id: str
    algorithm: str

    def sign(self, digest: bytes) -> bytes: ...


class Verifier(Protocol):
    """Checks a signature over a SHA-256 digest; False when it does not verify."""

    def verify(self, digest: bytes, signature: bytes, key_id: str, algorithm: str) -> bool: ...


class SignatureUnchecked(Exception):  # noqa: N818 - a reason, not a failure of the recording
    """Raised by a Verifier that could not check at all (no credentials, KMS unreachable)."""


@dataclass(frozen=True)
class SignatureFile:
    """The parsed content of manifest.json.sig."""

    key_id: str
    algorithm: str
    manifest_sha256: str
    signature: bytes


@dataclass
class CheckResult:
    """What `check_recording` found: problems (mismatches) and notes (what was not checked)."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    objects_checked: int = 0
    signature_valid: bool | None = None  # None: not checked
    signature_key_id: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def sign_manifest(manifest_bytes: bytes, signer: Signer) -> bytes:
    """The content of manifest.json.sig: key, algorithm, manifest SHA-256 and the signature."""
    digest = hashlib.sha256(manifest_bytes).digest()
    signature = signer.sign(digest)
    doc = {
        "format": SIGNATURE_FORMAT,
        "key_id": signer.key_id,
        "algorithm": signer.algorithm,
        "manifest_sha256": digest.hex(),
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def parse_signature(data: bytes) -> SignatureFile:
    """Parse manifest.json.sig; ValueError with a one-line reason when it is not one."""
    if len(data) > MAX_SIGNATURE_BYTES:
        raise ValueError(f"{len(data)} bytes, more than a signature file can be")
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    fields = {}
    for name in ("key_id", "algorithm", "manifest_sha256", "signature"):
        value = doc.get(name)
        if not isinstance(value, str) or not value or len(value) > 4096:
            raise ValueError(f"'{name}' is missing or not a short string")
        fields[name] = value
    if not _HEX64.fullmatch(fields["manifest_sha256"]):
        raise ValueError("'manifest_sha256' is not 64 lowercase hex digits")
    try:
        signature = base64.b64decode(fields["signature"], validate=True)
    except binascii.Error:
        raise ValueError("'signature' is not base64") from None
    return SignatureFile(
        fields["key_id"], fields["algorithm"], fields["manifest_sha256"], signature
    )


def check_recording(
    root: Path,
    *,
    verifier: Verifier | None = None,
    require_signature: bool = False,
    trusted_key_ids: Collection[str] = (),
    folder: str | None = None,
) -> CheckResult:
    """Each object's size and digests against the manifest, missing/extra objects, the
    signature; problems (mismatches) and notes (what could not be checked, and why).

    `trusted_key_ids`: the signing keys to trust (the signature is checked with them, never
    with the key its file names, and must be there). `folder`: the S3 folder the recording was
    read from; every object key must then be that folder plus its path under root.
    """
    result = CheckResult()
    manifest_path = root / MANIFEST_NAME
    if manifest_path.is_symlink():
        result.problems.append(Problem(MANIFEST_NAME, "is a symbolic link, not the recording's"))
        return result
    if not manifest_path.is_file():
        result.problems.append(Problem(MANIFEST_NAME, "missing"))
        return result
    manifest_bytes, manifest = _load_manifest(manifest_path, result)
    if manifest is not None:
        _check_objects(root, manifest, folder, result)
    if manifest_bytes is not None:
        require = require_signature or bool(trusted_key_ids)
        _check_signature(root, manifest_bytes, verifier, require, trusted_key_ids, result)
    return result


def _load_manifest(path: Path, result: CheckResult) -> tuple[bytes | None, dict[str, Any] | None]:
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        result.problems.append(Problem(MANIFEST_NAME, f"{size} bytes, too large to be a manifest"))
        return None, None
    with open(path, "rb") as f:
        data = f.read(MAX_MANIFEST_BYTES + 1)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:  # incl. integers too long to convert
        result.problems.append(Problem(MANIFEST_NAME, f"not JSON ({type(exc).__name__})"))
        return data, None
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        result.problems.append(Problem(MANIFEST_NAME, "not a manifest: no 'objects' list"))
        return data, None
    if len(doc["objects"]) > MAX_OBJECTS:
        result.problems.append(Problem(MANIFEST_NAME, f"lists more than {MAX_OBJECTS} objects"))
        return data, None
    return data, doc


def _check_objects(
    root: Path, manifest: Mapping[str, Any], folder: str | None, result: CheckResult
) -> None:
    entries = []
    for index, entry in enumerate(manifest["objects"]):
        parsed = _parse_entry(entry)
        if isinstance(parsed, str):
            result.problems.append(Problem(f"objects[{index}]", parsed))
        else:
            entries.append(parsed)
    base = folder if folder is not None else recording_folder([key for key, *_ in entries])
    claimed: set[Path] = set()
    for key, size, sha, sha512 in entries:
        if not key.startswith(base):
            result.problems.append(Problem(key, f"not in the recording's folder {base or '/'}"))
            continue
        path = resolve_key(root, key, base)
        if path is None:
            result.problems.append(Problem(key, "missing: listed in the manifest, no such file"))
            continue
        if path in claimed:
            result.problems.append(Problem(key, "listed twice"))
            continue
        claimed.add(path)
        result.objects_checked += 1
        actual_size = path.stat().st_size
        if actual_size != size:
            result.problems.append(
                Problem(key, f"size is {actual_size} bytes, the manifest says {size}")
            )
        actual = Digests.of_file(path).stored(key)
        actual_sha, actual_sha512 = actual.sha256, actual.sha512
        if actual_sha != sha:
            result.problems.append(Problem(key, f"sha256 is {actual_sha}, the manifest says {sha}"))
        elif sha512 is not None and actual_sha512 != sha512:
            result.problems.append(Problem(key, "sha512 does not match the manifest"))
    own = {root / MANIFEST_NAME, root / SIGNATURE_NAME}
    # The directory store keeps an object's tags beside it as <key>.tags.json (S3 keeps them on
    # the object): those of listed objects are not extra objects.
    own |= {p.with_name(p.name + TAGS_SUFFIX) for p in claimed | own}
    for path in _files(root):
        if path not in claimed and path not in own:
            rel = path.relative_to(root).as_posix()
            result.problems.append(Problem(rel, "extra: present but not listed in the manifest"))


def _parse_entry(entry: Any) -> tuple[str, int, str, str | None] | str:
    if not isinstance(entry, dict):
        return "not an object"
    key, size, sha = entry.get("key"), entry.get("bytes"), entry.get("sha256")
    sha512 = entry.get("sha512")
    if not isinstance(key, str) or not key or len(key) > 1024:
        return "'key' is missing or not a string of at most 1024 characters"
    if not _safe_key(key):
        return "'key' is not a safe relative object key"
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return f"{key}: 'bytes' is not a non-negative integer"
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        return f"{key}: 'sha256' is not 64 lowercase hex digits"
    if sha512 is not None and (not isinstance(sha512, str) or not _HEX128.fullmatch(sha512)):
        return f"{key}: 'sha512' is not 128 lowercase hex digits"
    return key, size, sha, sha512


def _safe_key(key: str) -> bool:
    if "\\" in key or "\x00" in key or key.startswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


def recording_folder(keys: Collection[str]) -> str:
    """The folder (ending with "/", or "") that every object key of a recording shares.

    Objects carry full S3 keys (prefix/date/call/x.wav, quarantine/...): a downloaded prefix or
    a local recording directory holds them relative to that folder, where manifest.json is.
    """
    folders = [k.split("/")[:-1] for k in keys]
    if not folders:
        return ""
    common = folders[0]
    for parts in folders[1:]:
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return "".join(part + "/" for part in common)


def resolve_key(root: Path, key: str, folder: str) -> Path | None:
    """The file under root holding an object key of the recording in `folder`: exactly there
    (an object moved to another place in the folder is missing, not found elsewhere)."""
    if not key.startswith(folder) or not _safe_key(key):
        return None
    candidate = root.joinpath(*PurePosixPath(key[len(folder) :]).parts)
    try:
        inside = candidate.resolve().is_relative_to(root.resolve())  # no symlinked folder out
        return candidate if inside and candidate.is_file() and not candidate.is_symlink() else None
    except (OSError, UnicodeError, ValueError):  # a name the file system cannot hold
        return None


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() or path.is_symlink():
            yield path


def _check_signature(
    root: Path,
    manifest_bytes: bytes,
    verifier: Verifier | None,
    require: bool,
    trusted: Collection[str],
    result: CheckResult,
) -> None:
    sig_path = root / SIGNATURE_NAME
    if sig_path.is_symlink() or (sig_path.exists() and not sig_path.is_file()):
        result.problems.append(Problem(SIGNATURE_NAME, "not a regular file"))
        return
    if not sig_path.is_file():
        _unchecked(result, require, f"{SIGNATURE_NAME} is absent (recording not signed)")
        return
    try:
        with open(sig_path, "rb") as f:
            sig = parse_signature(f.read(MAX_SIGNATURE_BYTES + 1))
    except ValueError as exc:
        result.problems.append(Problem(SIGNATURE_NAME, f"not a signature file: {exc}"))
        return
    result.signature_key_id = sig.key_id
    digest = hashlib.sha256(manifest_bytes).digest()
    if digest.hex() != sig.manifest_sha256:
        result.problems.append(
            Problem(
                MANIFEST_NAME,
                f"sha256 is {digest.hex()}, the signature file signed {sig.manifest_sha256}"
                " (manifest changed after signing)",
            )
        )
    if verifier is None:
        _unchecked(result, require, "no verifier (no KMS credentials, region or endpoint)")
        return
    if not trusted:
        # anyone can sign with a key of their own: without a key to trust there is nothing
        # a valid signature would prove
        _unchecked(result, require, "no trusted signing key given (--key-id or SIGNING_KEY_ID)")
        return
    try:
        # with each trusted key, never with the key the signature file names
        valid_with = next(
            (t for t in trusted if verifier.verify(digest, sig.signature, t, sig.algorithm)), None
        )
    except SignatureUnchecked as exc:
        _unchecked(result, require, str(exc))
        return
    result.signature_valid = valid_with is not None
    if valid_with is None:
        result.problems.append(
            Problem(
                SIGNATURE_NAME,
                f"signature does not verify over the manifest with the trusted key(s)"
                f" (its file names key {sig.key_id}, {sig.algorithm})",
            )
        )
    else:
        result.signature_key_id = valid_with


def _unchecked(result: CheckResult, require: bool, reason: str) -> None:
    if require:
        result.problems.append(
            Problem(SIGNATURE_NAME, f"signature required, not checked: {reason}")
        )
    else:
        result.notes.append(f"signature not checked: {reason}")
