"""A simulated call on disk: events/*.json, media/<stream>.mkv, reference/<label>.wav, call.json.

The directory is what `siprec-recorder simulate` produces and what a demo or a human can replay:
each event in delivery order, each stream's complete MKV (GetMedia layout) and the exact source
PCM each leg carried, for comparing a recording against.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from siprec_recorder.simulate.call import SimulatedCall


def write_call(call: SimulatedCall, out: str | Path) -> Path:
    """Write the call under `out` (created); returns the path of call.json."""
    import soundfile

    root = Path(out)
    for sub in ("events", "media", "reference"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    event_files = []
    for i, event in enumerate(call.events, start=1):
        detail = event["detail"]
        label = detail.get("sdp", {}).get("mediaLabel", "x")
        name = f"{i:02d}-{detail['streamingStatus'].lower()}-leg{label}.json"
        (root / "events" / name).write_text(json.dumps(event, indent=2) + "\n")
        event_files.append(f"events/{name}")
    legs: list[dict[str, Any]] = []
    for leg in call.legs:
        media = f"media/{leg.stream_name}.mkv"
        with (root / media).open("wb") as fh:
            for _, data in leg.fragments:
                fh.write(data)
        reference = f"reference/leg{leg.label}.wav"
        soundfile.write(str(root / reference), leg.pcm, 8000, subtype="PCM_16")
        legs.append(
            {
                "label": leg.label,
                "role": leg.role,
                "participant_id": leg.participant_id,
                "is_caller": leg.is_caller,
                "media_index": leg.media_index,
                "stream_arn": leg.stream_arn,
                "stream_name": leg.stream_name,
                "media_file": media,
                "reference_wav": reference,
                "start_ms": leg.start_ms,
                "end_ms": leg.end_ms,
                "samples": int(len(leg.pcm)),
                "first_fragment": leg.first_fragment,
                "last_fragment": leg.last_fragment,
                "fragments": len(leg.fragments),
                "own_fragments": len(leg.own_fragments),
                "gaps_ms": [list(g) for g in leg.gaps_ms],
            }
        )
    manifest = {
        "transaction_id": call.transaction_id,
        "call_id": call.call_id,
        "voice_connector_id": call.voice_connector_id,
        "conversation_id": call.conversation_id,
        "start_ms": call.start_ms,
        "end_ms": call.end_ms,
        "missing_labels": call.missing_labels,
        "legs": legs,
        "events": event_files,
    }
    path = root / "call.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
