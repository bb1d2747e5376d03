"""The call manifest: its entries, its canonical bytes and its JSON Schema check.

The manifest is written last, so its presence means the recording is complete; its bytes are
canonical (sorted keys, no wall-clock time) so re-running a call yields the same manifest and the
same signature input. It holds participants' AOR and display name (access-controlled content);
tags never do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from siprec_recorder.errors import StorageError
from siprec_recorder.recording.assemble import CallLayout, LevelMeter, Track
from siprec_recorder.recording.model import CallFacts, PartyAudio

SCHEMA_VERSION = 1
CONTENT_TYPE = "application/json"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(value: datetime) -> str:
    """UTC ISO 8601 with a `Z` (microseconds only when present)."""
    if value.tzinfo is None:
        raise StorageError("timestamps in the manifest must be timezone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_ns(epoch_ns: int) -> str:
    """Epoch nanoseconds as a UTC ISO 8601 timestamp (microsecond precision)."""
    return iso(_EPOCH + timedelta(microseconds=epoch_ns // 1000))


MAX_TEXT = 1024  # the schema's optional_text
MAX_ID = 256  # the schema's id


def bounded(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """Text cut to the schema's length: a long display name or header from the SRC must not
    make the manifest invalid (which would fail the whole recording)."""
    return value if value is None or len(value) <= limit else value[: limit - 1] + "…"


def participant_entry(
    party: PartyAudio,
    layout: CallLayout,
    key: str | None,
    meter: LevelMeter | None,
    call_blocks: int,
) -> dict[str, Any]:
    """One participant as the manifest lists it."""
    track: Track | None = next((t for t in layout.tracks if t.party is party), None)
    return {
        "label": party.label,
        "participant_id": bounded(party.participant_id, MAX_ID),
        "aor": bounded(party.aor),
        "name": bounded(party.name),
        "role": party.role,
        "is_caller": party.is_caller,
        "stream_arn": party.stream_arn,
        "media_index": party.media_index,
        "key": key,
        "samples": party.pcm.samples if party.pcm is not None else 0,
        "start_time": iso_ns(layout.start_ns(track)) if track else None,
        "offset_samples": track.offset if track else None,
        "frames": party.frames,
        "gaps": party.gaps,
        "gap_ms": round(float(party.gap_ms), 3),
        "overlaps": party.overlaps,
        "level_dbfs": meter.rms_dbfs if meter else None,
        "peak_dbfs": meter.peak_dbfs if meter else None,
        "active_fraction": (
            round(meter.active_blocks / call_blocks, 4) if meter and call_blocks else None
        ),
        "decode_error": bounded(party.decode_error),
    }


def call_entries(call: CallFacts, layout: CallLayout, fmt: str) -> dict[str, Any]:
    """The call-level fields of the manifest."""
    return {
        "schema_version": SCHEMA_VERSION,
        "transaction_id": call.transaction_id,
        "call_id": call.call_id,
        "voice_connector_id": call.voice_connector_id,
        "interaction_id": call.interaction_id,
        "interaction_id_source": call.interaction_id_source,
        "call_ids": {k: bounded(v) for k, v in sorted(call.call_ids.items())},
        "start_time": iso(call.start_time),
        "end_time": iso(call.end_time) if call.end_time else None,
        "format": fmt,
        "sample_rate": layout.sample_rate,
        "audio_start_time": iso_ns(layout.t0_ns) if layout.tracks else None,
        "duration_seconds": round(layout.total_samples / layout.sample_rate, 3),
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Canonical bytes: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


@cache
def load_schema() -> dict[str, Any]:
    """The manifest JSON Schema shipped with the package."""
    text = resources.files("siprec_recorder").joinpath("schemas/manifest.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_manifest(manifest: Any) -> None:
    """StorageError naming the first place the manifest breaks its schema.

    Uses `jsonschema` when installed; without it (a lean Lambda layer) checks the required
    top-level fields and their JSON types, so a manifest is never written unchecked.
    """
    schema = load_schema()
    try:
        import jsonschema  # type: ignore[import-untyped]  # dev dependency, stubs not installed
    except ImportError:
        _validate_top_level(manifest, schema)
        return
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(manifest))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        # the rule, not jsonschema's message: that one quotes the value (a name, an aor)
        raise StorageError(f"manifest invalid at {where}: fails {error.validator}")


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _validate_top_level(manifest: Any, schema: dict[str, Any]) -> None:
    if not isinstance(manifest, dict):
        raise StorageError("manifest invalid at (top): not an object")
    for name in schema["required"]:
        if name not in manifest:
            raise StorageError(f"manifest invalid at (top): '{name}' is a required property")
    for name, value in manifest.items():
        prop = schema["properties"].get(name)
        if prop is None:
            raise StorageError(f"manifest invalid at (top): unexpected property '{name}'")
        kinds = prop.get("type")
        if isinstance(kinds, str):
            kinds = [kinds]
        if kinds and not isinstance(value, tuple(t for k in kinds for t in _JSON_TYPES[k])):
            raise StorageError(f"manifest invalid at {name}: not of type {kinds}")
