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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siprec_recorder.media.pcm import Int16Array
from siprec_recorder.media.writer import FragmentInfo, KvsStreamWriter
from siprec_recorder.simulate import audio
from siprec_recorder.simulate import events as ev
from siprec_recorder.simulate.siprec_xml import Party, recording_xml

FRAME_MS = 20
FRAGMENT_MS = 2000
SAMPLES_PER_MS = audio.SAMPLE_RATE // 1000
DEFAULT_START_MS = 1_764_139_200_000  # 2025-11-26T06:40:00Z; + seed hours
ACCOUNT = "123456789012"
REUSE_GAP_MS = 1000  # the stream's previous/next call ends/starts this close to ours
REUSE_SPAN_MS = 8000


@dataclass
class SimulatedLeg:
    """One recorded stream of the call and exactly what was sent on it."""

    label: str
    participant_id: str
    aor: str
    name: str
    role: str
    is_caller: bool
    stream_arn: str
    media_index: int
    start_ms: int
    pcm: Int16Array  # exact source PCM from start_ms; gaps are zeros at their wall-clock place
    fragments: list[tuple[FragmentInfo, bytes]]  # everything on the stream, in order
    end_ms: int = 0
    first_fragment: str = ""  # this call's first fragment (startFragmentNumber)
    last_fragment: str = ""  # this call's last fragment (currentFragmentNumber)
    gaps_ms: list[tuple[int, int]] = field(default_factory=list)  # [start, end) wall clock

    @property
    def stream_name(self) -> str:
        return self.stream_arn.split("/")[1]

    @property
    def own_fragments(self) -> list[tuple[FragmentInfo, bytes]]:
        """The fragments of this call only (not other calls' on a reused stream)."""
        lo, hi = int(self.first_fragment), int(self.last_fragment)
        return [(i, d) for i, d in self.fragments if lo <= int(i.number) <= hi]


@dataclass
class SimulatedCall:
    """The whole call: ids, legs (only those whose media arrived) and events in delivery order."""

    transaction_id: str
    call_id: str
    voice_connector_id: str
    conversation_id: str
    start_ms: int
    end_ms: int
    legs: list[SimulatedLeg]
    events: list[dict[str, Any]]
    siprec_metadata: str = ""
    updated_metadata: str = ""
    missing_labels: list[str] = field(default_factory=list)


def _b64id(rng: random.Random) -> str:
    return base64.b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode()


def _round(ms: float) -> int:
    return int(round(ms / FRAME_MS)) * FRAME_MS


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
) -> SimulatedCall:
    """Simulate one two-party SIPREC call (see the module docstring)."""
    if not 2 <= duration_s <= 4 * 3600:
        raise ValueError("duration_s must be 2 s .. 4 h")
    duration_ms = _round(duration_s * 1000)
    late_ms = _round(late_join_s * 1000)
    if not 0 <= late_ms < duration_ms - 1000:
        raise ValueError("late_join_s must leave at least 1 s of the call")
    rng = random.Random(seed)  # noqa: S311 - test data
    nprng = np.random.default_rng(seed)
    start = _round(DEFAULT_START_MS + seed * 3_600_000 if start_ms is None else start_ms)
    end = start + duration_ms
    vcid = _vcid(rng)
    ids = {
        "transaction_id": ev.rand_uuid(rng),
        "call_id": ev.rand_uuid(rng),
        "voice_connector_id": vcid,
        "from_number": f"+1555555{rng.randint(100, 199):04d}",
        "to_number": f"+1555555{rng.randint(200, 299):04d}",
    }
    conversation_id = ev.rand_uuid(rng)
    session_id, group_id = _b64id(rng), _b64id(rng)
    stream_ids = [_b64id(rng), _b64id(rng)]
    pids = [_b64id(rng), _b64id(rng), _b64id(rng)]
    agent_user = f"agent.{rng.getrandbits(16):04x}"
    sip_call_id = f"{rng.getrandbits(128):032x}@198.51.100.10"
    start_iso = ev.iso_ms(start - 600)
    update_ms = _round(start + duration_ms * 0.55) if updated else None

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
        leg = _leg(
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


def _leg(
    rng: random.Random,
    nprng: np.random.Generator,
    ids: dict[str, str],
    vcid: str,
    label: str,
    party: Party,
    role: str,
    is_caller: bool,
    media_index: int,
    leg_start: int,
    end: int,
    *,
    turns: list[tuple[int, float, float]],
    start: int,
    gaps: bool,
    reused: bool,
    update_ms: int | None,
) -> SimulatedLeg:
    creation_ms = start - rng.randint(3_600_000, 30 * 86_400_000)
    name = f"ChimeVoiceConnector-{vcid}-{ev.rand_uuid(rng)}"
    arn = f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/{name}/{creation_ms}"
    n = (end - leg_start) * SAMPLES_PER_MS
    party_index = 0 if role == "customer" else 1
    offset_s = (leg_start - start) / 1000
    spans = [(s - offset_s, e - offset_s) for p, s, e in turns if p == party_index]
    voice = audio.CUSTOMER if role == "customer" else audio.AGENT
    signal = audio.speak(voice, spans, n, nprng)
    if update_ms is not None and role == "agent":  # the second agent sounds different
        cut = (update_ms - leg_start) * SAMPLES_PER_MS
        later = [(max(s, cut / audio.SAMPLE_RATE), e) for s, e in spans if e * 8000 > cut]
        second = audio.Voice(f0_hz=165.0, f0_spread=0.1, syllables_per_s=4.4, peak=0.28)
        signal[cut:] = audio.speak(second, later, n, nprng)[cut:]
    pcm = audio.to_pcm(signal, nprng)
    gap_list: list[tuple[int, int]] = []
    if gaps:
        length = _round(min(3300, (end - leg_start) / 4))
        at = _round(leg_start + (end - leg_start) * (0.3 if role == "customer" else 0.6))
        gap_list.append((at, at + length))
        pcm[(at - leg_start) * SAMPLES_PER_MS : (at + length - leg_start) * SAMPLES_PER_MS] = 0
    tags = {
        "TransactionId": ids["transaction_id"],
        "CallId": ids["call_id"],
        "VoiceConnectorId": vcid,
    }
    writer = KvsStreamWriter(
        track_name="AUDIO",
        producer_tags=tags,
        first_fragment_number=91343852333181432392682062607743920146540000000
        + rng.getrandbits(60) * 10**6,
    )
    fragments: list[tuple[FragmentInfo, bytes]] = []
    if reused:
        fragments += _other_call(writer, rng, nprng, vcid, leg_start - REUSE_GAP_MS - REUSE_SPAN_MS)
    own_start = len(fragments)
    for piece_start, piece_end in _pieces(leg_start, end, gap_list):
        a, b = (piece_start - leg_start) * SAMPLES_PER_MS, (piece_end - leg_start) * SAMPLES_PER_MS
        fragments.append(writer.fragment(piece_start, pcm[a:b], producer_tags=tags))
    own = fragments[own_start:]
    if reused:
        fragments += _other_call(writer, rng, nprng, vcid, end + REUSE_GAP_MS)
    return SimulatedLeg(
        label=label,
        participant_id=party.participant_id,
        aor=party.aor,
        name=party.name,
        role=role,
        is_caller=is_caller,
        stream_arn=arn,
        media_index=media_index,
        start_ms=leg_start,
        pcm=pcm,
        fragments=fragments,
        end_ms=end,
        first_fragment=own[0][0].number,
        last_fragment=own[-1][0].number,
        gaps_ms=gap_list,
    )


def _pieces(start: int, end: int, gaps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Fragment spans: every FRAGMENT_MS from start, minus the spans where media stopped."""
    out: list[tuple[int, int]] = []
    for t in range(start, end, FRAGMENT_MS):
        parts = [(t, min(t + FRAGMENT_MS, end))]
        for g0, g1 in gaps:
            parts = [
                piece
                for a, b in parts
                for piece in ((a, min(b, g0)), (max(a, g1), b))
                if piece[1] > piece[0]
            ]
        out += parts
    return out


def _other_call(
    writer: KvsStreamWriter,
    rng: random.Random,
    nprng: np.random.Generator,
    vcid: str,
    at_ms: int,
) -> list[tuple[FragmentInfo, bytes]]:
    """Fragments of another call on the same stream (another TransactionId), REUSE_SPAN_MS long."""
    tags = {
        "TransactionId": ev.rand_uuid(rng),
        "CallId": ev.rand_uuid(rng),
        "VoiceConnectorId": vcid,
    }
    n = REUSE_SPAN_MS * SAMPLES_PER_MS
    pcm = audio.to_pcm(
        audio.speak(audio.CUSTOMER, [(0.2, REUSE_SPAN_MS / 1000 - 0.2)], n, nprng), nprng
    )
    step = FRAGMENT_MS * SAMPLES_PER_MS
    return [
        writer.fragment(at_ms + k * FRAGMENT_MS, pcm[k * step : (k + 1) * step], producer_tags=tags)
        for k in range(REUSE_SPAN_MS // FRAGMENT_MS)
    ]


def ingest(call: SimulatedCall, kvs_server: Any) -> None:
    """Put every leg's stream (all its fragments, in order) into a local KVS server."""
    for leg in call.legs:
        for info, data in leg.fragments:
            kvs_server.ingest_fragment(leg.stream_arn, info, data)
