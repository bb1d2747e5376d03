"""A realistic SIPREC call as Chime would record it: per-leg KVS streams plus the events.

Deterministic per seed. Each leg (customer = label "1", isCaller; agent = label "2") gets its own
KVS stream in Chime's layout (2 s fragments of 20 ms PCM frames, producer tags TransactionId,
CallId, VoiceConnectorId) and STARTED/ENDED (optionally UPDATED) events. Options add what real
calls do: media gaps (hold), a late-joining leg, a leg that never arrives, a transfer announced
by a re-INVITE, and stream reuse (other calls' fragments on the same stream just before and after).
"""

from __future__ import annotations

import base64
import random
from typing import Any

import numpy as np

from siprec_recorder.errors import RecorderError
from siprec_recorder.simulate import audio
from siprec_recorder.simulate import events as ev
from siprec_recorder.simulate.model import SimulatedCall, SimulatedLeg
from siprec_recorder.simulate.siprec_xml import Party, recording_xml
from siprec_recorder.simulate.streams import build_leg, round_ms

DEFAULT_START_MS = 1_764_139_200_000  # 2025-11-26T06:40:00Z; + (seed mod 5000) hours
SEED_HOURS = 5000  # keeps every default start in the past (about 7 months after the base)
__all__ = ["SimulatedCall", "SimulatedLeg", "ingest", "simulate_call"]


def _b64id(rng: random.Random) -> str:
    return base64.b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode()


def _vcid(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(22))


def simulate_call(
    *,
    duration_s: float = 120,
    seed: int = 1,
    reused_stream: bool = False,
    gaps: bool = False,
    late_join_s: float = 0,
    missing_leg: bool = False,
    updated: bool = False,
    start_ms: int | None = None,
    conversation_id: str | None = None,
) -> SimulatedCall:
    """Simulate one two-party SIPREC call (see the module docstring). `conversation_id`: the
    Genesys conversation it belongs to (random by default; give two calls the same one for a
    conversation recorded in two sessions)."""
    if not 2 <= duration_s <= 4 * 3600:
        raise RecorderError("duration_s must be 2 s .. 4 h")
    duration_ms = round_ms(duration_s * 1000)
    late_ms = round_ms(late_join_s * 1000)
    if not 0 <= late_ms < duration_ms - 1000:
        raise RecorderError("late_join_s must leave at least 1 s of the call")
    rng = random.Random(seed)  # noqa: S311 - test data
    nprng = np.random.default_rng(seed)
    offset = (seed % SEED_HOURS) * 3_600_000
    start = round_ms(DEFAULT_START_MS + offset if start_ms is None else start_ms)
    end = start + duration_ms
    vcid = _vcid(rng)
    ids = {
        "transaction_id": ev.rand_uuid(rng),
        "call_id": ev.rand_uuid(rng),
        "voice_connector_id": vcid,
        "from_number": f"+1555555{rng.randint(100, 199):04d}",
        "to_number": f"+1555555{rng.randint(200, 299):04d}",
    }
    drawn = ev.rand_uuid(rng)  # drawn either way: a seed gives the same other ids
    conversation_id = conversation_id or drawn
    session_id, group_id = _b64id(rng), _b64id(rng)
    stream_ids = [_b64id(rng), _b64id(rng)]
    pids = [_b64id(rng), _b64id(rng), _b64id(rng)]
    agent_user = f"agent.{rng.getrandbits(16):04x}"
    sip_call_id = f"{rng.getrandbits(128):032x}@198.51.100.10"
    start_iso = ev.iso_ms(start - 600)
    update_ms = round_ms(start + duration_ms * 0.55) if updated else None

    customer = Party(
        pids[0],
        f"sip:{ids['from_number']}@198.51.100.10",
        "Test Caller",
        stream_ids[0],
        stream_ids[1],
        start_iso,
    )
    agent = Party(
        pids[1],
        f"sip:{agent_user}@example.mypurecloud.com",
        "Test Agent",
        stream_ids[1],
        stream_ids[0],
        start_iso,
    )
    streams = [(stream_ids[0], "1"), (stream_ids[1], "2")]
    xml_args: dict[str, Any] = {
        "session_id": session_id,
        "group_id": group_id,
        "sip_session_id": f"{sip_call_id.split('@')[0]};remote={rng.getrandbits(128):032x}",
        "start_iso": start_iso,
        "streams": streams,
    }
    metadata = recording_xml(parties=[customer, agent], **xml_args)
    updated_metadata = ""
    if update_ms is not None:
        left = Party(**{**agent.__dict__, "disassociate_iso": ev.iso_ms(update_ms)})
        second = Party(
            pids[2],
            f"sip:agent.{rng.getrandbits(16):04x}@example.mypurecloud.com",
            "Second Agent",
            stream_ids[1],
            stream_ids[0],
            ev.iso_ms(update_ms),
        )
        updated_metadata = recording_xml(parties=[customer, left, second], **xml_args)

    headers = {
        "from": f"<sip:{ids['from_number']}@198.51.100.10>;tag={rng.getrandbits(40):010x}",
        "to": f"<sip:{ids['to_number']}@{vcid}.voiceconnector.chime.aws>",
        "call-id": sip_call_id,
        "content-type": "multipart/mixed;boundary=uniqueBoundary",
        "require": "siprec",
        "x-inin-cnv": conversation_id,
        "x-inin-crn": ev.rand_uuid(rng),
        "user-agent": "Genesys Cloud Edge",
    }
    turns = audio.turn_schedule(duration_ms / 1000, nprng)
    plans = [
        ("1", customer, "customer", True, 0, start),
        ("2", agent, "agent", False, 1, start + late_ms),
    ]
    legs: list[SimulatedLeg] = []
    timed: list[tuple[int, int, dict[str, Any]]] = []
    missing: list[str] = []
    for index, (label, party, role, is_caller, media_index, leg_start) in enumerate(plans):
        if missing_leg and label == "2":
            missing.append(label)
            continue
        leg = build_leg(
            rng,
            nprng,
            ids,
            vcid,
            label,
            party,
            role,
            is_caller,
            media_index,
            leg_start,
            end,
            turns=turns,
            start=start,
            gaps=gaps,
            reused=reused_stream,
            update_ms=update_ms,
        )
        legs.append(leg)
        base = ev.leg_detail(
            status="STARTED", call=ids, is_caller=is_caller, media_index=media_index, label=label
        )
        timed.append(
            (
                leg.start_ms,
                index,
                ev.envelope(
                    rng,
                    leg.start_ms,
                    ev.started(
                        base,
                        stream_arn=leg.stream_arn,
                        start_fragment=leg.first_fragment,
                        start_ms=leg.start_ms,
                        invite_headers=headers,
                        metadata=metadata,
                    ),
                ),
            )
        )
        if update_ms is not None:
            upd = base | {"streamingStatus": "UPDATED"}
            upd.pop("fromNumber"), upd.pop("toNumber")
            timed.append(
                (
                    update_ms,
                    index,
                    ev.envelope(
                        rng,
                        update_ms,
                        ev.updated(
                            upd,
                            update_headers={
                                k: headers[k]
                                for k in ("from", "to", "call-id", "content-type", "x-inin-cnv")
                            },
                            metadata=updated_metadata,
                        ),
                    ),
                )
            )
        done = base | {"streamingStatus": "ENDED"}
        timed.append(
            (
                end + 40 * index,
                index,
                ev.envelope(
                    rng,
                    end,
                    ev.ended(
                        done,
                        stream_arn=leg.stream_arn,
                        start_fragment=leg.first_fragment,
                        current_fragment=leg.last_fragment,
                        start_ms=leg.start_ms,
                        end_ms=end,
                    ),
                ),
            )
        )
    timed.sort(key=lambda t: (t[0], t[1]))
    return SimulatedCall(
        transaction_id=ids["transaction_id"],
        call_id=ids["call_id"],
        voice_connector_id=vcid,
        conversation_id=conversation_id,
        start_ms=start,
        end_ms=end,
        legs=legs,
        events=[e for _, _, e in timed],
        siprec_metadata=metadata,
        updated_metadata=updated_metadata,
        missing_labels=missing,
    )


def ingest(call: SimulatedCall, kvs_server: Any) -> None:
    """Put every leg's stream (all its fragments, in order) into a local KVS server."""
    for leg in call.legs:
        for info, data in leg.fragments:
            kvs_server.ingest_fragment(leg.stream_arn, info, data)
