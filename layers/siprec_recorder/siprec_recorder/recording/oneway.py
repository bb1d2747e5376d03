"""One-way audio: a declared party whose stream never came, was empty, or carried no sound.

A party counts as missing when its stream never started (no decoded audio), has zero frames, or
when fewer than (1 - threshold) of the call's 20 ms blocks carry sound from it. A block carries
sound when its RMS is at least -60 dBFS: digital silence and the low noise floor of a muted or
broken leg stay below that, while even quiet speech (about -40 dBFS and up) is well above it.
The call's blocks span t0 to the last sample of any party, so a party that is absent for most of
the call also counts as silent there. The surviving audio is written regardless; this only
flags the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from siprec_recorder.recording.assemble import ACTIVE_DBFS, LevelMeter
from siprec_recorder.recording.model import PartyAudio


def _reason(
    party: PartyAudio | None, meter: LevelMeter | None, call_blocks: int
) -> tuple[str | None, float]:
    """Why a party is missing (None when it is not), and the fraction of the call it was silent."""
    if party is None or party.stream_arn is None and party.pcm is None:
        return "stream never started", 1.0
    if party.pcm is None:
        return ("stream not decoded" if party.decode_error else "no audio received"), 1.0
    if party.frames == 0 or party.pcm.samples == 0 or meter is None:
        return "stream has no frames", 1.0
    silent = 1.0 - meter.active_blocks / call_blocks if call_blocks else 1.0
    return None, max(0.0, silent)


def detect_one_way(
    declared_labels: Sequence[str],
    parties: Sequence[PartyAudio],
    meters: Mapping[str, LevelMeter],
    call_blocks: int,
    threshold: float = 0.95,
) -> dict[str, Any] | None:
    """`{"missing", "reason", "declared", "arrived", "details"}`, or None when every declared
    party was heard.

    `meters` are the mono level meters by label, `call_blocks` the number of 20 ms blocks from t0
    to the end of the call. Labels no party declares but which arrived are judged too.
    """
    by_label = {p.label: p for p in parties}
    declared = list(dict.fromkeys(declared_labels)) or sorted(by_label)
    judged = declared + sorted(set(by_label) - set(declared))
    arrived = sorted(p.label for p in parties if p.has_audio)
    details: list[dict[str, Any]] = []
    for label in judged:
        reason, silent = _reason(by_label.get(label), meters.get(label), call_blocks)
        if reason is None and silent > threshold:
            reason = f"silent (below {ACTIVE_DBFS:.0f} dBFS) for {silent:.0%} of the call"
        if reason is not None:
            details.append({"label": label, "reason": reason, "silent_fraction": round(silent, 4)})
    if not details:
        return None
    return {
        "missing": [d["label"] for d in details],
        "reason": "; ".join(f"{d['label']}: {d['reason']}" for d in details),
        "declared": declared,
        "arrived": arrived,
        "details": details,
    }
