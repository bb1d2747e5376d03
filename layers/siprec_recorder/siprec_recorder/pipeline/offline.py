"""The recorder step without AWS: events and media files in, the S3 layout in a folder out.

For support cases (media dumped from KVS into files) and for checking that the local stack
and the offline path give the same recording: the events are folded by the same pure call
lifecycle the StreamStatus function uses, then the same `record_call` runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from siprec_recorder.calls import lifecycle
from siprec_recorder.calls.events import parse_events
from siprec_recorder.calls.model import Call
from siprec_recorder.errors import EventError, MediaError
from siprec_recorder.pipeline.plan import plan_call
from siprec_recorder.pipeline.record import RecordOutcome, record_call
from siprec_recorder.pipeline.sources import FileSource
from siprec_recorder.recording.model import OutputOptions
from siprec_recorder.recording.store import DirectoryStore

MAX_EVENT_FILE = 4 << 20


def fold_events(events: Sequence[Mapping[str, Any]]) -> Call:
    """Apply events (EventBridge envelopes or SQS-wrapped) in the order given; one call only."""
    call: Call | None = None
    for raw in events:
        for event in parse_events(dict(raw)):
            if call is not None and event.transaction_id != call.transaction_id:
                raise EventError("events belong to more than one call (transactionId differs)")
            call, _effects = lifecycle.apply_event(call, event)
    if call is None:
        raise EventError("no streaming status event given")
    return call


def load_event_file(path: Path) -> dict[str, Any]:
    """One JSON event file, bounded in size; EventError naming the file when it is not JSON."""
    if path.stat().st_size > MAX_EVENT_FILE:
        raise EventError(f"{path.name}: event file is larger than {MAX_EVENT_FILE} bytes")
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise EventError(f"{path.name}: not a JSON event") from None
    if not isinstance(data, dict):
        raise EventError(f"{path.name}: event is not a JSON object")
    return data


def parse_media_args(items: Sequence[str]) -> dict[str, Path]:
    """`STREAM_ARN=FILE` pairs; MediaError naming a malformed pair or a missing file."""
    media: dict[str, Path] = {}
    for item in items:
        arn, sep, file = item.rpartition("=")
        if not sep or not arn or not file:
            raise MediaError(f"--media takes STREAM_ARN=FILE, got {item[:80]!r}")
        path = Path(file)
        if not path.is_file():
            raise MediaError(f"media file not found: {file}")
        media[arn] = path
    return media


def process_call(
    events: Sequence[Mapping[str, Any]],
    media: Mapping[str, Path],
    out: Path,
    options: OutputOptions,
    *,
    agent_aor_pattern: str | None = None,
) -> RecordOutcome:
    """Fold the events, decode the media files and write the recording under `out`."""
    call = fold_events(events)
    unknown = set(media) - {s.stream_arn for s in call.streams}
    if unknown:
        raise MediaError(f"--media names a stream no event announced: {sorted(unknown)[0]}")
    plan = plan_call(call, agent_aor_pattern=agent_aor_pattern)
    out.mkdir(parents=True, exist_ok=True)
    return record_call(plan, FileSource(media), DirectoryStore(out), options)
