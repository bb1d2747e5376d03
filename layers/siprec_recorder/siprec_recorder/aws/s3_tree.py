"""Copy one recording's S3 prefix to a local folder, so `verify` and `report` read plain files.

Keys become paths relative to the prefix. Keys that would escape the folder, too many objects or
too many bytes are refused: the prefix comes from a command line and may not be one recording.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from siprec_recorder.errors import StorageError

MAX_OBJECTS = 2_000
MAX_BYTES = 20 << 30  # 20 GiB: far above any single call's recordings


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://bucket/prefix/; StorageError when it is not such a URL."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "s3" or not parsed.netloc or parsed.query or parsed.fragment:
        raise StorageError("not an s3://bucket/prefix/ URL", code="bad_s3_url")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


def download_prefix(url: str, dest: Path, *, client: Any | None = None) -> Path:
    """Download every object under the prefix into dest (created); returns dest."""
    bucket, prefix = parse_s3_url(url)
    s3 = client if client is not None else boto3.client("s3")
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    try:
        objects = _list(s3, bucket, prefix)
        if not objects:
            raise StorageError(f"no objects under s3://{bucket}/{prefix}", code="prefix_empty")
        for key in objects:
            target = _target(root, key[len(prefix) :])
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        raise StorageError(f"S3 refused reading s3://{bucket}/{prefix}: {code}") from None
    except BotoCoreError as exc:
        raise StorageError(f"S3 unreachable: {type(exc).__name__}") from None
    return dest


def _list(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            keys.append(str(obj["Key"]))
            total += int(obj.get("Size", 0))
            if len(keys) > MAX_OBJECTS or total > MAX_BYTES:
                raise StorageError(
                    f"s3://{bucket}/{prefix} holds more than one recording can "
                    f"({MAX_OBJECTS} objects / {MAX_BYTES >> 30} GiB)"
                )
    return keys


def _target(root: Path, rel: str) -> Path:
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("..", ".") for p in parts) or "\\" in rel or rel.startswith("/"):
        raise StorageError("an object key under the prefix is not a safe relative path")
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root):
        raise StorageError("an object key under the prefix escapes the destination")
    return target
