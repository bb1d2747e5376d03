"""Model -> JSON: the CLI/manifest summary.

The summary is the `siprec-recorder metadata` output: who is on which stream, their roles, the
interaction id with its source, vendor call ids and every warning. It holds phone numbers and
names (aor, name): it is for the manifest and the operator, never for logs or S3 tags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from siprec_recorder.metadata.correlate import caller_flags, owners, role_of
from siprec_recorder.metadata.interaction import (
    DEFAULT_EXTRACTORS,
    Extractor,
    call_ids,
    find_interaction_id,
)
from siprec_recorder.metadata.model import RecordingMetadata


def summary(
    meta: RecordingMetadata,
    *,
    headers: Mapping[str, str] | None = None,
    direction: str | None = None,
    caller_label: str | None = None,
    is_caller: bool | None = None,
    agent_aor_pattern: str | None = None,
    extractors: Sequence[Extractor] = DEFAULT_EXTRACTORS,
) -> dict[str, Any]:
    """The CLI object: format, participants with labels and roles, streams, ids, warnings."""
    flags = caller_flags(meta, caller_label=caller_label, is_caller=is_caller)
    stream_owners, notes = owners(meta)
    found = find_interaction_id(meta, headers, extractors)
    participants = [
        {
            "id": p.id,
            "aor": p.aor,
            "name": p.name,
            "sends": list(p.sends),
            "recvs": list(p.recvs),
            "role": role_of(
                p,
                is_caller=flags.get(p.id),
                direction=direction,
                agent_aor_pattern=agent_aor_pattern,
            ),
        }
        for p in meta.participants
    ]
    streams = []
    for s in meta.streams:
        owner = stream_owners.get(s.id)
        streams.append({"id": s.id, "label": s.label, "owner": owner.id if owner else None})
    warnings = list(meta.warnings) + [w for w in notes.values() if w not in meta.warnings]
    return {
        "format": meta.format,
        "data_mode": meta.data_mode,
        "sessions": [s.to_dict() for s in meta.sessions],
        "participants": participants,
        "streams": streams,
        "interaction_id": found.value if found else None,
        "interaction_id_source": found.source if found else None,
        "call_ids": call_ids(meta, headers),
        "extension": dict(meta.extension),
        "warnings": warnings,
    }
