"""The call as an IETF vCon (draft-ietf-vcon-vcon-core-04, syntax 0.4.0, + the CC extension).

Choices, so that any vCon consumer can use the recording without knowing this project:
- `uuid` is a version 8 UUID laid out like the draft asks (48-bit Unix milliseconds of the call
  start, then hash bits) whose 74 custom bits are the SHA-1 of the transaction id, so a re-run
  of the same call yields the same vCon. `created_at` is the call's end (else its start): no
  wall-clock time enters the document, which stays byte-identical across retries.
- One `recording` dialog per participant file and one for the stereo file (multi-channel
  `parties`: one entry per channel). Files are external content: `filename` is the object's
  name in the recording folder, `content_hash` its digest (`sha512-...` first when the manifest
  has it, then `sha256-...`; base64url without padding), `url` only when an HTTPS base is given.
- A call without any audio gets one `incomplete` dialog (disposition `failed`) over all parties,
  so the attachments and the analysis always point at a dialog that exists.
- The Genesys interaction id goes where the Contact Center extension ("CC") puts it: each
  dialog's `interaction_id`; party `role` is CC too. An "interaction" attachment also records
  where the id came from and the SIP/Chime ids it was correlated with.
- Joins, drops and holds from the participant timeline become each dialog's `party_history`.
- Attachments: the SIPREC metadata XML (RFC 7865 media type), the Chime streaming events, the
  interaction facts. Analysis: the one-way check and per-participant gap figures.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from siprec_recorder.recording.manifest import iso

VCON_VERSION = "0.4.0"
EXTENSIONS = ["CC"]
VENDOR = "siprec-recorder"
UUID_NAMESPACE = "siprec-recorder:transaction:"
APPLICATION = "SIPREC via Amazon Chime SDK Voice Connector"
_MEDIATYPES = {
    "audio/wav": "audio/x-wav",
    "audio/x-wav": "audio/x-wav",
    "audio/wave": "audio/x-wav",
    "audio/vnd.wave": "audio/x-wav",
    "audio/flac": "audio/flac",
    "audio/x-flac": "audio/flac",
    "audio/ogg": "audio/ogg",
    "audio/opus": "audio/ogg",
}
_BY_FORMAT = {"wav": "audio/x-wav", "flac": "audio/flac", "opus": "audio/ogg"}
_PHONE = re.compile(r"\+?[0-9]{3,15}")
_HISTORY_START = {"joined": "join", "hold": "hold", "resumed": "unhold"}


class CallFactsLike(Protocol):
    """What build_vcon reads of `recording.model.CallFacts`."""

    @property
    def transaction_id(self) -> str: ...
    @property
    def interaction_id(self) -> str | None: ...
    @property
    def start_time(self) -> datetime: ...
    @property
    def siprec_xml(self) -> str | None: ...
    @property
    def chime_events(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def timeline(self) -> Sequence[Mapping[str, Any]]: ...


def build_vcon(
    manifest: Mapping[str, Any], call: CallFactsLike, *, url_base: str | None = None
) -> dict[str, Any]:
    """The unsigned vCon of a call from its draft manifest (deterministic for the same input)."""
    interaction = manifest.get("interaction_id") or call.interaction_id
    start = _text(manifest.get("start_time")) or iso(call.start_time)
    created = _text(manifest.get("end_time")) or start
    timeline = list(manifest.get("timeline") or call.timeline or [])
    parties, by_pid, by_label = _parties(manifest, timeline)
    originator = next(
        (by_label[p["label"]] for p in _participants(manifest) if p.get("is_caller")), None
    )
    objects = {o["key"]: o for o in manifest.get("objects", []) if isinstance(o, Mapping)}
    rate = int(manifest.get("sample_rate") or 8000)
    common = {"interaction_id": interaction} if interaction else {}
    dialogs: list[dict[str, Any]] = []
    for p in _participants(manifest):
        key = p.get("key")
        if not key:
            continue  # no audio for this participant: a party, but no dialog
        indices = _label_parties(p["label"], by_label, by_pid, timeline)
        dialog = _recording(
            key,
            objects.get(key),
            manifest,
            url_base,
            start=_text(p.get("start_time")) or _text(manifest.get("audio_start_time")) or start,
            samples=int(p.get("samples") or 0),
            rate=rate,
            parties=indices[0] if len(indices) == 1 else indices,
        )
        history = _history([p["label"]], timeline, by_pid)
        if history:
            dialog["party_history"] = history
        if originator is not None and originator != indices[0]:
            dialog["originator"] = originator
        dialogs.append({**dialog, **common})
    stereo = manifest.get("stereo")
    if isinstance(stereo, Mapping) and stereo.get("key"):
        channels: list[Any] = []
        labels: list[str] = []
        for side in ("left", "right"):
            side_labels = list(stereo.get(f"{side}_labels") or _split(stereo.get(side)))
            labels += side_labels
            idx = sorted(
                {i for lb in side_labels for i in _label_parties(lb, by_label, by_pid, timeline)}
            )
            channels.append(idx[0] if len(idx) == 1 else (idx or None))
        dialog = _recording(
            stereo["key"],
            objects.get(stereo["key"]),
            manifest,
            url_base,
            start=_text(manifest.get("audio_start_time")) or start,
            samples=int(stereo.get("samples") or 0),
            rate=rate,
            parties=channels,
        )
        history = _history(labels, timeline, by_pid)
        if history:
            dialog["party_history"] = history
        if originator is not None and channels and channels[0] != originator:
            dialog["originator"] = originator
        dialogs.append({**dialog, **common})
    if not dialogs:
        dialogs.append({**_incomplete(start, len(parties), originator), **common})
    vcon: dict[str, Any] = {
        "vcon": VCON_VERSION,
        "uuid": vcon_uuid(call.transaction_id, call.start_time),
        "extensions": list(EXTENSIONS),
        "created_at": created,
        "subject": "Recorded call (SIPREC)",
        "parties": parties,
        "dialog": dialogs,
        "attachments": _attachments(manifest, call, start, originator or 0, len(dialogs) - 1),
        "analysis": _analysis(manifest, len(dialogs)),
    }
    return vcon


def vcon_uuid(transaction_id: str, start: datetime | None) -> str:
    """Version 8 UUID: 48-bit Unix ms of the call start, 74 bits of SHA-1(transaction id)."""
    ms = int(start.timestamp() * 1000) & ((1 << 48) - 1) if start else 0
    h = hashlib.sha1((UUID_NAMESPACE + transaction_id).encode(), usedforsecurity=False).digest()
    rand_a = int.from_bytes(h[:2], "big") & 0xFFF
    rand_b = int.from_bytes(h[2:10], "big") >> 2
    value = (ms << 80) | (0x8 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def content_hash(sha256_hex: str, sha512_hex: str | None = None) -> str | list[str]:
    """vCon ContentHash token(s): algorithm, '-', base64url digest without padding."""
    tokens = [f"sha512-{_b64url(sha512_hex)}"] if sha512_hex else []
    tokens.append(f"sha256-{_b64url(sha256_hex)}")
    return tokens[0] if len(tokens) == 1 else tokens


def party_from_aor(aor: str | None, name: str | None, role: str | None) -> dict[str, Any]:
    """A Party Object: `tel` for a number (tel: URI or a sip: user part of digits), `sip`."""
    party: dict[str, Any] = {}
    value = (aor or "").strip()
    lower = value.lower()
    if lower.startswith("tel:"):
        party["tel"] = value[4:].split(";", 1)[0]
    elif lower.startswith(("sip:", "sips:")):
        party["sip"] = value
        user = value.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
        if "@" in value and _PHONE.fullmatch(user):
            party["tel"] = user
    elif lower.startswith("mailto:"):
        party["mailto"] = value[7:]
    elif value:
        party["sip"] = value
    if name:
        party["name"] = name
    if role:
        party["role"] = role
    return party


def _participants(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p for p in manifest.get("participants", []) if isinstance(p, Mapping)]


def _parties(
    manifest: Mapping[str, Any], timeline: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, int]]:
    """Party Objects for the manifest's participants, then for anyone else the timeline names."""
    parties: list[dict[str, Any]] = []
    by_pid: dict[str, int] = {}
    by_label: dict[str, int] = {}
    for p in _participants(manifest):
        pid = p.get("participant_id")
        if pid and pid in by_pid:
            by_label.setdefault(str(p["label"]), by_pid[pid])
            continue
        by_label.setdefault(str(p["label"]), len(parties))
        if pid:
            by_pid[pid] = len(parties)
        parties.append(party_from_aor(p.get("aor"), p.get("name"), p.get("role")))
    for entry in timeline:
        pid = entry.get("participant_id")
        if pid and pid not in by_pid:
            by_pid[pid] = len(parties)
            parties.append(party_from_aor(entry.get("aor"), entry.get("name"), entry.get("role")))
    return parties, by_pid, by_label


def _label_parties(
    label: str,
    by_label: Mapping[str, int],
    by_pid: Mapping[str, int],
    timeline: Sequence[Mapping[str, Any]],
) -> list[int]:
    """Every party heard on a stream label: the manifest's, plus whoever the timeline puts there."""
    found = {
        by_pid[e["participant_id"]]
        for e in timeline
        if e.get("label") == label and e.get("participant_id") in by_pid
    }
    if label in by_label:
        found.add(by_label[label])
    return sorted(found)


def _history(
    labels: Sequence[str], timeline: Sequence[Mapping[str, Any]], by_pid: Mapping[str, int]
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for e in timeline:
        if e.get("label") not in labels or e.get("participant_id") not in by_pid:
            continue
        party = by_pid[e["participant_id"]]
        if e.get("event") in _HISTORY_START and e.get("from"):
            events.append({"party": party, "time": e["from"], "event": _HISTORY_START[e["event"]]})
        if e.get("end") == "left" and e.get("to"):
            events.append({"party": party, "time": e["to"], "event": "drop"})
    unique = {(ev["time"], ev["party"], ev["event"]): ev for ev in events}
    return [unique[k] for k in sorted(unique)]


def _recording(
    key: str,
    obj: Mapping[str, Any] | None,
    manifest: Mapping[str, Any],
    url_base: str | None,
    *,
    start: str,
    samples: int,
    rate: int,
    parties: Any,
) -> dict[str, Any]:
    content_type = str((obj or {}).get("content_type") or "")
    dialog: dict[str, Any] = {
        "type": "recording",
        "start": start,
        "duration": round(samples / rate, 3) if rate else 0,
        "parties": parties,
        "mediatype": _MEDIATYPES.get(content_type)
        or _BY_FORMAT.get(str(manifest.get("format")), "audio/x-wav"),
        "filename": key.rsplit("/", 1)[-1],
        "application": APPLICATION,
    }
    if obj and obj.get("sha256"):
        if url_base:
            dialog["url"] = url_base.rstrip("/") + "/" + key
        dialog["content_hash"] = content_hash(str(obj["sha256"]), obj.get("sha512"))
    return dialog


def _incomplete(start: str, parties: int, originator: int | None) -> dict[str, Any]:
    """The dialog of a call with no audio: the draft's failed-call form (no content, no hash)."""
    dialog: dict[str, Any] = {
        "type": "incomplete",
        "start": start,
        "parties": list(range(parties)),
        "disposition": "failed",
    }
    if originator is not None and originator != 0:
        dialog["originator"] = originator
    return dialog


def _attachments(
    manifest: Mapping[str, Any], call: CallFactsLike, start: str, party: int, dialog: int
) -> list[dict[str, Any]]:
    base = {"start": start, "party": party, "dialog": dialog}
    facts = {
        k: manifest.get(k)
        for k in (
            "interaction_id",
            "interaction_id_source",
            "transaction_id",
            "call_id",
            "voice_connector_id",
            "call_ids",
        )
    }
    out = [
        {
            **base,
            "purpose": "interaction",
            "mediatype": "application/json",
            "encoding": "json",
            "body": facts,
        }
    ]
    if call.siprec_xml:
        out.append(
            {
                **base,
                "purpose": "siprec_metadata",
                "mediatype": "application/rs-metadata+xml",
                "filename": "siprec-metadata.xml",
                "encoding": "none",
                "body": call.siprec_xml,
            }
        )
    if call.chime_events:
        out.append(
            {
                **base,
                "purpose": "chime_streaming_status",
                "mediatype": "application/json",
                "encoding": "json",
                "body": [dict(e) for e in call.chime_events],
            }
        )
    return out


def _analysis(manifest: Mapping[str, Any], dialogs: int) -> list[dict[str, Any]]:
    body = {
        "one_way": manifest.get("one_way"),
        "participants": [
            {k: p.get(k) for k in ("label", "role", "frames", "gaps", "gap_ms", "level_dbfs")}
            for p in _participants(manifest)
        ],
        "warnings": list(manifest.get("warnings") or []),
    }
    return [
        {
            "type": "report",
            "dialog": list(range(dialogs)),
            "mediatype": "application/json",
            "vendor": VENDOR,
            "product": "recording-quality",
            "schema": "siprec-recorder-quality/1",
            "encoding": "json",
            "body": body,
        }
    ]


def _split(value: Any) -> list[str]:
    return [v for v in str(value).split("+") if v] if value else []


def _b64url(hex_digest: str) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode("ascii")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def load_vcon_schema() -> dict[str, Any]:
    """The vCon JSON Schema (2020-12) shipped with the package, for consumers and tests."""
    import json
    from importlib import resources

    text = resources.files("siprec_recorder").joinpath("schemas/vcon.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema
