"""Fixtures for end-to-end tests: one local stack (moto server + our KVS server) per module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from siprec_recorder.aws.calls_table import CallsTable
from siprec_recorder.calls.model import Call
from siprec_recorder.local.driver import LocalPipeline
from siprec_recorder.local.stack import LocalStack
from siprec_recorder.simulate import SimulatedCall, ingest


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as s:
        yield s


@dataclass
class Landed:
    """What one call left in the local stack."""

    call: SimulatedCall
    pipeline: LocalPipeline
    status: Call | None
    manifest: dict[str, Any] | None
    keys: list[str]
    folder: str | None

    def audio(self, key: str) -> np.ndarray:
        data = (
            self.pipeline.stack.client("s3")
            .get_object(Bucket=self.pipeline.stack.settings.bucket, Key=key)["Body"]
            .read()
        )
        import io

        samples, rate = sf.read(io.BytesIO(data), dtype="int16")
        assert rate == 8000
        return samples


def run_call(
    stack: LocalStack,
    call: SimulatedCall,
    *,
    events: list[dict[str, Any]] | None = None,
    env: dict[str, str] | None = None,
    ingest_media: bool = True,
) -> Landed:
    """Ingest the call's media, deliver its events, drain the queue; read back what landed."""
    if ingest_media:
        ingest(call, stack.kvs)
    pipeline = LocalPipeline(stack, extra_env=env)
    pipeline.send_events(call.events if events is None else events)
    pipeline.drain()
    table = CallsTable(stack.settings.calls_table, client=stack.client("dynamodb"))
    stored = table.get(call.transaction_id)
    manifest = None
    folder = None
    keys: list[str] = []
    if stored is not None and stored.manifest_key:
        body = (
            stack.client("s3")
            .get_object(Bucket=stack.settings.bucket, Key=stored.manifest_key)["Body"]
            .read()
        )
        manifest = json.loads(body)
        folder = stored.manifest_key.rsplit("/", 1)[0] + "/"
        keys = pipeline.objects(folder)
    return Landed(call, pipeline, stored, manifest, keys, folder)


def write_call_files(call: SimulatedCall, root: Path) -> tuple[list[Path], dict[str, Path]]:
    """The call's events and media as files (what `process` takes)."""
    from siprec_recorder.simulate.files import write_call

    write_call(call, root)
    info = json.loads((root / "call.json").read_text())
    events = [root / e for e in info["events"]]
    media = {leg["stream_arn"]: root / leg["media_file"] for leg in info["legs"]}
    return events, media


def process_args(events: list[Path], media: dict[str, Path], out: Path, *extra: str) -> list[str]:
    """The `siprec-recorder process` command line for these event and media files."""
    args = ["process", "--out", str(out), *extra]
    for e in events:
        args += ["--event", str(e)]
    for arn, path in media.items():
        args += ["--media", f"{arn}={path}"]
    return args
