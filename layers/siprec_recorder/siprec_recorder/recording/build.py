"""Writing a finished call: mono files, stereo file, extras, then the manifest last.

Order matters: every audio/extra object is stored first, the manifest (which lists them with
their SHA-256) after them, and its signature after that, so a manifest in the bucket always
means a complete recording. Output is deterministic: the same inputs give byte-identical
objects, so a retried job rewrites the same bytes under the same keys.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from siprec_recorder.errors import MetadataError
from siprec_recorder.recording.assemble import (
    CallLayout,
    LevelMeter,
    block_size,
    layout_call,
    mono_windows,
    stereo_windows,
    window_size,
)
from siprec_recorder.recording.encode import FormatSpec, encode_windows, spec_for
from siprec_recorder.recording.keys import RecordingKeys, recording_keys
from siprec_recorder.recording.manifest import (
    CONTENT_TYPE,
    call_entries,
    manifest_bytes,
    participant_entry,
    validate_manifest,
)
from siprec_recorder.recording.model import (
    ROLE_UNKNOWN,
    ROLES,
    CallFacts,
    OutputOptions,
    PartyAudio,
    QuarantineItem,
)
from siprec_recorder.recording.oneway import detect_one_way
from siprec_recorder.recording.store import RecordingStore, StoredObject
from siprec_recorder.recording.tags import PARTICIPANT_CALL, PARTICIPANT_STEREO, CallTags, call_tags

MKV_CONTENT_TYPE = "video/x-matroska"
VCON_CONTENT_TYPE = "application/vcon+json"
METADATA_CONTENT_TYPE = "application/rs-metadata+xml"
METADATA_NAME = "siprec-metadata.xml"


class _Writer:
    """Shared state of one build: where objects go, their tags, and the object list."""

    def __init__(self, store: RecordingStore, keys: RecordingKeys, tags: CallTags) -> None:
        self.store, self.keys, self.tags = store, keys, tags
        self.objects: list[dict[str, Any]] = []

    def _record(self, stored: StoredObject, content_type: str, participant: str) -> StoredObject:
        self.objects.append(
            {
                "key": stored.key,
                "bytes": stored.bytes,
                "sha256": stored.sha256,
                **({"sha512": stored.sha512} if stored.sha512 else {}),
                "content_type": content_type,
                "participant": participant,
            }
        )
        return stored

    def file(self, key: str, path: Path, content_type: str, participant: str) -> StoredObject:
        tags = self.tags.for_object(participant)
        stored = self.store.put_file(key, path, content_type=content_type, tags=tags)
        return self._record(stored, content_type, participant)

    def data(self, key: str, data: bytes, content_type: str, participant: str) -> StoredObject:
        tags = self.tags.for_object(participant)
        stored = self.store.put_bytes(key, data, content_type=content_type, tags=tags)
        return self._record(stored, content_type, participant)


def build_recording(
    call: CallFacts,
    parties: Sequence[PartyAudio],
    store: RecordingStore,
    options: OutputOptions,
    *,
    quarantine: Sequence[QuarantineItem] = (),
) -> dict[str, Any]:
    """Write the call's recordings, extras and manifest to `store`; returns the manifest."""
    spec = spec_for(options.fmt)
    _check_parties(parties)
    keys = recording_keys(call.interaction_id, call.transaction_id, call.start_time, options.prefix)
    tags = call_tags(call.transaction_id, call.call_id, call.interaction_id)
    writer = _Writer(store, keys, tags)
    layout = layout_call(parties)
    window = window_size(layout.sample_rate)
    call_blocks = math.ceil(layout.total_samples / block_size(layout.sample_rate))
    warnings = [*call.warnings, *tags.warnings]

    with tempfile.TemporaryDirectory(prefix="recording-") as tmp_name:
        tmp = Path(tmp_name)
        audio_paths: dict[str, Path] = {}
        meters: dict[str, LevelMeter] = {}
        party_keys = _write_parties(writer, layout, spec, window, tmp, audio_paths, meters)
        stereo = _write_stereo(writer, layout, spec, window, tmp, audio_paths)
        draft: dict[str, Any] = call_entries(call, layout, spec.name)
        draft["participants"] = [
            participant_entry(p, layout, party_keys.get(id(p)), meters.get(p.label), call_blocks)
            for p in parties
        ]
        draft["stereo"] = stereo
        draft["one_way"] = detect_one_way(
            call.declared_labels, parties, meters, call_blocks, options.one_way_threshold
        )
        draft["quarantine"] = _write_quarantine(writer, parties, quarantine)
        draft["metadata_key"] = None
        if call.siprec_xml:
            meta = writer.keys.folder + METADATA_NAME
            xml = call.siprec_xml.encode("utf-8")
            draft["metadata_key"] = writer.data(
                meta, xml, METADATA_CONTENT_TYPE, PARTICIPANT_CALL
            ).key
        draft["tags"] = dict(tags.common)
        draft["warnings"] = warnings
        draft["timeline"] = list(call.timeline)
        draft["report_key"] = None
        draft["vcon_key"] = None
        draft["objects"] = writer.objects

        if options.report:
            draft["report_key"] = _write_report(writer, draft, audio_paths, tmp)
        draft["vcon_key"] = _write_vcon(writer, draft, call)

    validate_manifest(draft)
    data = manifest_bytes(draft)
    store.put_bytes(
        keys.manifest, data, content_type=CONTENT_TYPE, tags=tags.for_object(PARTICIPANT_CALL)
    )
    if options.signer is not None:
        from siprec_recorder.recording.integrity import sign_manifest

        store.put_bytes(
            keys.signature,
            sign_manifest(data, options.signer),
            content_type=CONTENT_TYPE,
            tags=tags.for_object(PARTICIPANT_CALL),
        )
    return draft


def _check_parties(parties: Sequence[PartyAudio]) -> None:
    """Refuse what the manifest schema would refuse, before any audio is written."""
    for party in parties:
        if not party.label or len(party.label) > 256:
            raise MetadataError(f"participant label of {len(party.label)} characters")
        if party.role not in ROLES:
            raise MetadataError(f"participant {party.label[:40]!r} has role {party.role[:20]!r}")


def _write_parties(
    writer: _Writer,
    layout: CallLayout,
    spec: FormatSpec,
    window: int,
    tmp: Path,
    audio_paths: dict[str, Path],
    meters: dict[str, LevelMeter],
) -> dict[int, str]:
    """One mono file per party with audio; returns the key by party identity."""
    party_keys: dict[int, str] = {}
    used: set[str] = set()
    for index, track in enumerate(layout.tracks):
        party = track.party
        key = writer.keys.party(party.role, party.label, spec.ext)
        if key in used:  # two parties with the same role and label: keep both
            key = writer.keys.party(party.role, f"{party.label}-{index}", spec.ext)
        used.add(key)
        path = tmp / f"party-{index}.{spec.ext}"
        meter = LevelMeter(layout.sample_rate)
        encode_windows(
            path,
            mono_windows(track.pcm, window),
            channels=1,
            sample_rate=layout.sample_rate,
            fmt=spec.name,
            on_window=meter.feed,
        )
        writer.file(key, path, spec.content_type, party.role)
        party_keys[id(party)] = key
        meters.setdefault(party.label, meter)
        audio_paths.setdefault(party.label, path)
    return party_keys


def _write_stereo(
    writer: _Writer,
    layout: CallLayout,
    spec: FormatSpec,
    window: int,
    tmp: Path,
    audio_paths: dict[str, Path],
) -> dict[str, Any] | None:
    """The two-channel file of the whole call; None when no party has any audio."""
    if not layout.tracks:
        return None
    left, right = LevelMeter(layout.sample_rate), LevelMeter(layout.sample_rate)

    def feed(pcm: Any) -> None:
        left.feed(pcm[:, 0])
        right.feed(pcm[:, 1])

    path = tmp / f"stereo.{spec.ext}"
    frames = encode_windows(
        path,
        stereo_windows(layout, window),
        channels=2,
        sample_rate=layout.sample_rate,
        fmt=spec.name,
        on_window=feed,
    )
    stored = writer.file(writer.keys.stereo(spec.ext), path, spec.content_type, PARTICIPANT_STEREO)
    audio_paths["stereo"] = path
    return {
        "key": stored.key,
        "left": "+".join(layout.left_labels) or None,
        "right": "+".join(layout.right_labels) or None,
        "left_labels": list(layout.left_labels),
        "right_labels": list(layout.right_labels),
        "samples": frames,
        "levels": {"left": left.summary(), "right": right.summary()},
    }


def _write_quarantine(
    writer: _Writer, parties: Sequence[PartyAudio], items: Sequence[QuarantineItem]
) -> list[dict[str, Any]]:
    """Raw media that could not be decoded, stored under `quarantine/` and listed."""
    roles = {p.label: p.role for p in parties}
    entries: list[dict[str, Any]] = []
    for item in items:
        key = writer.keys.quarantine(item.stream_arn, item.label)
        role = roles.get(item.label, ROLE_UNKNOWN)
        if isinstance(item.raw, bytes):
            stored = writer.data(key, item.raw, MKV_CONTENT_TYPE, role)
        else:
            stored = writer.file(key, item.raw, MKV_CONTENT_TYPE, role)
        entries.append(
            {
                "label": item.label,
                "stream_arn": item.stream_arn,
                "error": " ".join(item.error.split())[:1024],
                "key": stored.key,
                "bytes": stored.bytes,
                "sha256": stored.sha256,
            }
        )
    return entries


def _write_report(
    writer: _Writer,
    draft: dict[str, Any],
    audio_paths: dict[str, Path],
    tmp: Path,
) -> str | None:
    from siprec_recorder.recording.report import render_report  # matplotlib: only when enabled

    out = tmp / "report.png"
    render_report(draft, dict(audio_paths), out)
    return writer.file(writer.keys.report, out, "image/png", PARTICIPANT_CALL).key


def _write_vcon(writer: _Writer, draft: dict[str, Any], call: CallFacts) -> str | None:
    from siprec_recorder.recording.vcon import build_vcon

    vcon = build_vcon(draft, call)
    data = (json.dumps(vcon, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
    return writer.data(writer.keys.vcon, data, VCON_CONTENT_TYPE, PARTICIPANT_CALL).key
