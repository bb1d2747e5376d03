"""LocalStack one after another in a process: each starts from empty moto state."""

from __future__ import annotations

from typing import Any

from siprec_recorder.config import Settings
from siprec_recorder.local.stack import LocalStack


def test_sequential_stacks_start_clean() -> None:
    bucket = Settings().bucket
    with LocalStack() as first:
        s3: Any = first.client("s3")
        s3.put_object(Bucket=bucket, Key="left-over", Body=b"x")
    with LocalStack(kms=False) as second:
        s3 = second.client("s3")
        assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
        head = s3.put_object(Bucket=bucket, Key="k", Body=b"y")
        assert head["ServerSideEncryption"] == "AES256"  # no KMS key asked for
        assert second.env["SSE_KMS_KEY_ID"] == ""
