"""Where recordings go: a minimal storage Protocol, a directory implementation and the digest.

The S3 implementation (`aws/s3.py`) follows the same Protocol with Object Lock and SSE, so the
Protocol stays minimal: put a file, put bytes, read bytes back.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from siprec_recorder.errors import StorageError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredObject:
    """One written object: its key, size and hex SHA-256 (listed in the manifest)."""

    key: str
    bytes: int
    sha256: str
    sha512: str | None = None  # for the vCon's content_hash (the draft asks for SHA-512)


class RecordingStore(Protocol):
    """Write-once object storage for a call's outputs."""

    def put_file(
        self, key: str, path: Path, *, content_type: str, tags: Mapping[str, str]
    ) -> StoredObject: ...

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str, tags: Mapping[str, str]
    ) -> StoredObject: ...

    def get_bytes(self, key: str) -> bytes | None: ...


class Digests:
    """SHA-256 (the manifest's digest) and SHA-512 (the vCon's content_hash) in one pass."""

    def __init__(self, data: bytes = b"") -> None:
        self._sha256 = hashlib.sha256(data)
        self._sha512 = hashlib.sha512(data)
        self.size = len(data)

    def update(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        self._sha512.update(chunk)
        self.size += len(chunk)

    def stored(self, key: str) -> StoredObject:
        """The StoredObject for what was hashed."""
        return StoredObject(key, self.size, self._sha256.hexdigest(), self._sha512.hexdigest())

    @classmethod
    def of_file(cls, path: Path | str) -> Digests:
        """Both digests of a file, read in 1 MiB pieces."""
        digests = cls()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digests.update(chunk)
        return digests


def check_key(key: str) -> str:
    """Refuse keys that could escape a directory store or are not plain relative paths."""
    if (
        not key
        or len(key) > 1024
        or "\\" in key
        or "\x00" in key
        or any(p in ("", ".", "..") for p in key.split("/"))
    ):
        raise StorageError(f"unsafe object key ({len(key)} chars)")
    return key


class DirectoryStore:
    """Objects as files under `root/<key>`, tags beside them in `root/<key>.tags.json`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(
        self, key: str, path: Path, *, content_type: str, tags: Mapping[str, str]
    ) -> StoredObject:
        """Copy a local file into the store (streamed, atomic) with its tags."""
        target = self._path(key)
        digests = Digests()
        try:
            with open(path, "rb") as src:
                with _AtomicWriter(target) as dst:
                    while chunk := src.read(_CHUNK):
                        digests.update(chunk)
                        dst.write(chunk)
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc.strerror or type(exc).__name__}") from exc
        self._write_tags(key, content_type, tags)
        return digests.stored(key)

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str, tags: Mapping[str, str]
    ) -> StoredObject:
        """Write bytes as an object (atomic) with its tags."""
        target = self._path(key)
        try:
            with _AtomicWriter(target) as dst:
                dst.write(data)
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc.strerror or type(exc).__name__}") from exc
        self._write_tags(key, content_type, tags)
        return Digests(data).stored(key)

    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def get_tags(self, key: str) -> dict[str, str] | None:
        """The tags written with an object (for tests)."""
        raw = self.get_bytes(key + ".tags.json")
        if raw is None:
            return None
        tags: dict[str, str] = json.loads(raw)["tags"]
        return tags

    def _write_tags(self, key: str, content_type: str, tags: Mapping[str, str]) -> None:
        doc = {"content_type": content_type, "tags": dict(sorted(tags.items()))}
        data = json.dumps(doc, sort_keys=True, indent=2).encode() + b"\n"
        try:
            with _AtomicWriter(self._path(key + ".tags.json")) as dst:
                dst.write(data)
        except OSError as exc:
            raise StorageError(f"cannot write tags of {key}: {exc.strerror}") from exc


class _AtomicWriter:
    """A temp file in the target's directory, renamed over the target only on success."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> _AtomicWriter:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".tmp-", dir=self.target.parent)
        self._tmp = Path(name)
        self._fh = os.fdopen(fd, "wb")
        return self

    def write(self, data: bytes) -> None:
        self._fh.write(data)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._fh.close()
            if exc_type is None:
                os.replace(self._tmp, self.target)
        finally:
            self._tmp.unlink(missing_ok=True)
