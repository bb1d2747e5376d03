"""One leg's KVS stream in Chime's layout: its PCM, fragments, gaps and, if reused, other calls."""

from __future__ import annotations

import random

import numpy as np

from siprec_recorder.media.writer import FragmentInfo, KvsStreamWriter
from siprec_recorder.simulate import audio
from siprec_recorder.simulate import events as ev
from siprec_recorder.simulate.model import SimulatedLeg
from siprec_recorder.simulate.siprec_xml import Party

FRAME_MS = 20
FRAGMENT_MS = 2000
SAMPLES_PER_MS = audio.SAMPLE_RATE // 1000
ACCOUNT = "123456789012"
REUSE_GAP_MS = 1000  # the stream's previous/next call ends/starts this close to ours
REUSE_SPAN_MS = 8000


def round_ms(ms: float) -> int:
    """Milliseconds rounded to the 20 ms frame grid."""
    return int(round(ms / FRAME_MS)) * FRAME_MS


def build_leg(
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
        length = round_ms(min(3300, (end - leg_start) / 4))
        at = round_ms(leg_start + (end - leg_start) * (0.3 if role == "customer" else 0.6))
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
