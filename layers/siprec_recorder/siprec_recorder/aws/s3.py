"""S3 adapter: the RecordingStore the Recorder function writes through (SSE, tags, Object Lock).

Every put carries the object's SHA-256 in its metadata; a re-run that finds the same digest at the
key skips the put, so re-processing a call adds no versions and no duplicates.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from siprec_recorder.errors import StorageError
from siprec_recorder.recording.store import Digests, StoredObject

# Multipart parts of 8 MiB: flat memory for any call length (S3's minimum part is 5 MiB).
_TRANSFER = TransferConfig(
    multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=4
)
_SHA_META = "sha256"


def s3_client(region: str | None = None) -> Any:
    """An S3 client with retries in adaptive mode (endpoint from AWS_ENDPOINT_URL_S3 when set)."""
    return boto3.client(
        "s3", region_name=region, config=Config(retries={"max_attempts": 5, "mode": "adaptive"})
    )


def classify(exc: Exception) -> StorageError:
    """Turn an S3/KMS failure into a StorageError whose code names what is missing."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code, message = str(err.get("Code", "")), str(err.get("Message", ""))
        if code.startswith("KMS") or "kms" in message.lower():
            return StorageError(f"KMS refused the encryption key: {code}", code="kms_access_denied")
        if code in ("AccessDenied", "403", "Forbidden"):
            return StorageError(f"S3 access denied: {code}", code="s3_access_denied")
        if code == "NoSuchBucket":
            return StorageError("the recordings bucket does not exist", code="bucket_missing")
        return StorageError(f"S3 error {code}: {message[:200]}", code="s3_error")
    if isinstance(exc, S3UploadFailedError):
        # upload_file wraps the ClientError in text only: read the code back out of it.
        text = str(exc)
        for marker, code in (
            ("KMS", "kms_access_denied"),
            ("AccessDenied", "s3_access_denied"),
            ("NoSuchBucket", "bucket_missing"),
        ):
            if marker in text:
                return StorageError(f"S3 upload failed: {marker}", code=code)
        return StorageError("S3 upload failed", code="s3_error")
    return StorageError(f"S3 unreachable: {type(exc).__name__}", code="s3_unreachable")


def _missing(exc: ClientError) -> bool:
    """The object is not there (HEAD says 404, GET says NoSuchKey)."""
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def _or_none(call: Callable[[], Any]) -> Any:
    """The call's result; None when the object is missing; other failures as StorageError."""
    try:
        return call()
    except ClientError as exc:
        if _missing(exc):
            return None
        raise classify(exc) from exc
    except BotoCoreError as exc:
        raise classify(exc) from exc


class S3Store:
    """Writes recording objects to one bucket with encryption, tags and optional Object Lock."""

    def __init__(
        self,
        bucket: str,
        *,
        client: Any | None = None,
        kms_key_id: str = "",
        object_lock_mode: str = "",
        object_lock_days: int = 0,
        retain_from: dt.datetime | None = None,
    ) -> None:
        self.bucket = bucket
        self.client = client or s3_client()
        self.kms_key_id = kms_key_id
        self.object_lock_mode = object_lock_mode
        self.object_lock_days = object_lock_days
        self.retain_from = retain_from

    def _extra(self, content_type: str, tags: Mapping[str, str], sha256: str) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "ContentType": content_type,
            "Metadata": {_SHA_META: sha256},
            "Tagging": urllib.parse.urlencode(sorted(tags.items())),
        }
        if self.kms_key_id:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key_id)
        else:
            extra["ServerSideEncryption"] = "AES256"
        if self.object_lock_mode and self.object_lock_days > 0:
            start = self.retain_from or dt.datetime.now(dt.UTC)
            extra["ObjectLockMode"] = self.object_lock_mode
            extra["ObjectLockRetainUntilDate"] = start + dt.timedelta(days=self.object_lock_days)
        return extra

    def _existing_sha(self, key: str) -> str | None:
        head = _or_none(lambda: self.client.head_object(Bucket=self.bucket, Key=key))
        if head is None:
            return None
        value = head.get("Metadata", {}).get(_SHA_META)
        return str(value) if value else None

    def put_file(
        self, key: str, path: Path, *, content_type: str, tags: Mapping[str, str]
    ) -> StoredObject:
        """Upload a file (multipart above 8 MiB) unless the same bytes are already at the key."""
        digests = Digests.of_file(path)
        stored = digests.stored(key)
        digest = stored.sha256
        if self._existing_sha(key) != digest:
            try:
                self.client.upload_file(
                    str(path),
                    self.bucket,
                    key,
                    ExtraArgs=self._extra(content_type, tags, digest),
                    Config=_TRANSFER,
                )
            except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
                raise classify(exc) from exc
        return stored

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str, tags: Mapping[str, str]
    ) -> StoredObject:
        """Put a small object (manifest, vCon, signature) unless the same bytes are there."""
        stored = Digests(data).stored(key)
        digest = stored.sha256
        if self._existing_sha(key) != digest:
            extra = self._extra(content_type, tags, digest)
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
            except (ClientError, BotoCoreError) as exc:
                raise classify(exc) from exc
        return stored

    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        data: bytes | None = _or_none(
            lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        )
        return data


class S3WorkArea:
    """The recorder's work files for one call, under `<prefix>work/<transaction id>/`.

    Expired by a bucket lifecycle rule on the work prefix, so the role needs no DeleteObject.
    """

    def __init__(self, store: S3Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def save(self, name: str, path: Path) -> None:
        self.store.put_file(
            self.prefix + name, path, content_type="application/octet-stream", tags={}
        )

    def load(self, name: str, path: Path) -> bool:
        try:
            self.store.client.download_file(self.store.bucket, self.prefix + name, str(path))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise classify(exc) from exc
        except BotoCoreError as exc:
            raise classify(exc) from exc
        return True
