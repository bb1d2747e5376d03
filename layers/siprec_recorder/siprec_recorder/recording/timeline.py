"""Who sent which stream from when to when: the participant timeline of a SIPREC call.

Input is the sequence of metadata snapshots the SRC sent (the INVITE's complete document, then
each re-INVITE's complete or partial update: transfer, conference, hold). Output is one entry per
(participant, stream label, state) interval, so a compliance reviewer can tell whose voice is on a
stream at any instant (after a blind transfer the agent stream carries agent B, not agent A).

Rules (RFC 7865): a complete snapshot replaces the participant set; a partial one changes only the
participants it lists. A participant leaves when its `disassociate-time` is given or when a
complete snapshot no longer lists it. A stream whose SDP m-line is `inactive`, or a participant
that is still associated but no longer sends anything, is on hold. Times come from the
metadata's associate/disassociate times when present, else from the snapshot's arrival.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from siprec_recorder.metadata.model import Participant, RecordingMetadata
from siprec_recorder.recording.manifest import iso

ACTIVE = "active"
HOLD = "hold"


@dataclass
class _Open:
    entry: dict[str, Any]
    state: str  # ACTIVE | HOLD


def build_timeline(
    snapshots: Sequence[tuple[datetime, RecordingMetadata]],
    call_end: datetime | None,
    *,
    roles: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Timeline entries sorted by start: participant, label, from/to, how it began and ended.

    Entry: `participant_id, label, aor, name, from, to, event, end` (+ `role` when `roles`
    names the participant). `event` is joined | hold | resumed | stream_changed; `end` is
    left | hold | resumed | stream_changed | call_end, or None while open (no call end known).
    """
    roles = roles or {}
    state: dict[str, Participant] = {}
    inactive: frozenset[str] = frozenset()
    seen: set[str] = set()
    was_held: set[str] = set()
    open_: dict[tuple[str, str], _Open] = {}
    done: list[dict[str, Any]] = []

    for when, md in sorted(snapshots, key=lambda s: _utc(s[0])):
        when = _utc(when)
        state, left = _apply(state, md, when)
        if md.sdp:
            inactive = frozenset(m.label for m in md.sdp if m.label and m.direction == "inactive")
        wanted = _wanted(state, inactive, open_)
        for key in sorted(open_):
            pid, label = key
            now = wanted.get(key)
            if now == open_[key].state:
                continue
            cur = open_.pop(key)
            if pid in left:
                reason, at = "left", left[pid]
            elif now is None:
                reason, at = "stream_changed", when
            else:
                reason, at = ("hold" if now == HOLD else "resumed"), when
            if cur.state == HOLD:
                was_held.add(pid)
            cur.entry.update({"to": iso(at), "end": reason})
            done.append(cur.entry)
        for key, status in sorted(wanted.items()):
            if key in open_:
                continue
            pid, label = key
            p = state[pid]
            if pid not in seen:
                event, at = "joined", _parse(p.associate_time) or when
            elif status == HOLD:
                event, at = "hold", when
            elif pid in was_held:
                event, at = "resumed", when
            else:
                event, at = "stream_changed", when
            seen.add(pid)
            was_held.discard(pid)
            open_[key] = _Open(_entry(p, label, at, event, roles), status)

    for key in sorted(open_):
        cur = open_[key]
        to = iso(_utc(call_end)) if call_end else None
        cur.entry.update({"to": to, "end": "call_end" if call_end else None})
        done.append(cur.entry)
    return sorted(done, key=lambda e: (e["from"], e["participant_id"], e["label"]))


def _apply(
    state: dict[str, Participant], md: RecordingMetadata, when: datetime
) -> tuple[dict[str, Participant], dict[str, datetime]]:
    """The participant set after one snapshot, and who left (with when)."""
    left: dict[str, datetime] = {}
    if md.data_mode == "complete":
        new = {p.id: _merge(state.get(p.id), p) for p in md.participants}
        for pid in state.keys() - new.keys():
            left[pid] = when
    else:
        new = dict(state)
        for p in md.participants:
            new[p.id] = _merge(state.get(p.id), p)
    for pid, p in list(new.items()):
        if p.disassociate_time is not None:
            left[pid] = _parse(p.disassociate_time) or when
            del new[pid]
    return new, {pid: t for pid, t in left.items() if pid in state}


def _merge(old: Participant | None, new: Participant) -> Participant:
    """A participant update keeps what it does not restate (aor, name, associate time)."""
    if old is None:
        return new
    return replace(
        new,
        aor=new.aor or old.aor,
        name=new.name or old.name,
        associate_time=new.associate_time or old.associate_time,
    )


def _wanted(
    state: Mapping[str, Participant],
    inactive: frozenset[str],
    open_: Mapping[tuple[str, str], _Open],
) -> dict[tuple[str, str], str]:
    """The (participant, label) -> state every open or new interval should have now."""
    wanted: dict[tuple[str, str], str] = {}
    for pid, p in state.items():
        for label in p.sends:
            wanted[(pid, label)] = HOLD if label in inactive else ACTIVE
        if not p.sends:  # still associated, sending nothing: on hold on the streams it had
            for opid, label in open_:
                if opid == pid:
                    wanted[(pid, label)] = HOLD
    return wanted


def _entry(
    p: Participant, label: str, at: datetime, event: str, roles: Mapping[str, str]
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "participant_id": p.id,
        "label": label,
        "aor": p.aor,
        "name": p.name,
        "from": iso(at),
        "to": None,
        "event": event,
        "end": None,
    }
    if p.id in roles:
        entry["role"] = roles[p.id]
    return entry


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse(text: str | None) -> datetime | None:
    """An RFC 3339 time from the metadata, or None when absent or unreadable (never raises)."""
    if not text or len(text) > 64:
        return None
    try:
        return _utc(datetime.fromisoformat(text.strip().replace("z", "Z")))
    except ValueError:
        return None
