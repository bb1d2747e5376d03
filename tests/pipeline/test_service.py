"""The Recorder's job handling with fakes: what happens around the pipeline, not inside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from siprec_recorder.calls.model import Call, CallStatus, RecordingJob
from siprec_recorder.pipeline.service import RecorderDeps, handle_job
from siprec_recorder.pipeline.sources import FileSource
from siprec_recorder.recording.model import OutputOptions
from siprec_recorder.recording.store import DirectoryStore

TID = "0b0c5d8e-3c4e-4f50-9a51-6f2a1d3e4b5c"
MANIFEST_KEY = "recordings/2026/11/26/conv-1/manifest.json"


class Table:
    """Only `get` is reached on these paths; anything else would be a bug."""

    def __init__(self, call: Call) -> None:
        self.call = call

    def get(self, transaction_id: str) -> Call | None:
        return self.call if transaction_id == self.call.transaction_id else None

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected table call {name}")


class Announcer:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], str]] = []

    def announce(self, manifest: dict[str, Any], manifest_key: str) -> None:
        self.sent.append((manifest, manifest_key))


def _deps(tmp_path: Path, call: Call, announcer: Announcer) -> RecorderDeps:
    store = DirectoryStore(tmp_path)
    manifest = {"transaction_id": TID, "interaction_id": "conv-1", "one_way": None}
    store.put_bytes(
        MANIFEST_KEY, json.dumps(manifest).encode(), content_type="application/json", tags={}
    )
    return RecorderDeps(
        table=Table(call),  # type: ignore[arg-type]
        queue=None,  # type: ignore[arg-type]
        source=FileSource({}),
        store=store,
        work=lambda tid: None,  # type: ignore[arg-type,return-value]
        options=OutputOptions(),
        announcer=announcer,
    )


def test_a_redelivered_job_of_a_recorded_call_announces_it_again(tmp_path):
    """put_events failed after the call was marked RECORDED: SQS redelivers the same job, and
    the Recording Available event must still go out (it would be lost as a stale job)."""
    call = Call(TID, status=CallStatus.RECORDED, attempt=2, manifest_key=MANIFEST_KEY)
    announcer = Announcer()
    deps = _deps(tmp_path, call, announcer)
    result = handle_job(RecordingJob(TID, 2), deps, receive_count=2)
    assert [key for _, key in announcer.sent] == [MANIFEST_KEY]
    assert announcer.sent[0][0]["interaction_id"] == "conv-1"
    assert result.manifest_key == MANIFEST_KEY


def test_an_older_or_first_delivery_of_a_recorded_call_is_only_stale(tmp_path):
    call = Call(TID, status=CallStatus.RECORDED, attempt=2, manifest_key=MANIFEST_KEY)
    announcer = Announcer()
    deps = _deps(tmp_path, call, announcer)
    assert handle_job(RecordingJob(TID, 1), deps, receive_count=3).outcome == "stale"
    assert handle_job(RecordingJob(TID, 2), deps, receive_count=1).outcome == "stale"
    assert announcer.sent == []
