"""Downloading a recording prefix: keys stay inside the destination, bad URLs are refused."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from siprec_recorder.aws.s3_tree import download_prefix, parse_s3_url
from siprec_recorder.errors import StorageError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bkt/recordings/x", ("bkt", "recordings/x/")),
        ("s3://b", ("b", "")),
        ("s3://b/p/", ("b", "p/")),
    ],
)
def test_parse(url: str, expected: tuple[str, str]) -> None:
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize("url", ["s3:///nobucket", "https://b/p", "s3://b/p?x=1", "/tmp/x"])
def test_parse_refuses(url: str) -> None:
    with pytest.raises(StorageError):
        parse_s3_url(url)


def test_download_and_escape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bkt")
        s3.put_object(Bucket="bkt", Key="rec/1/a.wav", Body=b"abc")
        s3.put_object(Bucket="bkt", Key="rec/1/sub/b.json", Body=b"{}")
        s3.put_object(Bucket="bkt", Key="rec/10/other.wav", Body=b"zz")  # a sibling prefix
        dest = download_prefix("s3://bkt/rec/1", tmp_path / "d", client=s3)
        files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
        assert files == ["a.wav", "sub/b.json"]
        assert (dest / "a.wav").read_bytes() == b"abc"
        s3.put_object(Bucket="bkt", Key="rec/2/../../escape.wav", Body=b"x")
        with pytest.raises(StorageError, match="safe relative path"):
            download_prefix("s3://bkt/rec/2/", tmp_path / "e", client=s3)
        assert not (tmp_path / "escape.wav").exists()
