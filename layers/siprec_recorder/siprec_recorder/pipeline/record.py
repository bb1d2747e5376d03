"""Decode each planned stream and write the finished recording; checkpoint when time runs out.

Nothing is lost: every byte fetched for a stream is kept in a raw spool while it is decoded, and
when decoding fails or the media is cut, that raw media goes to `quarantine/` next to the
recording (the audio decoded before the fault is still used). A party whose stream never
arrived is written as missing, and the manifest says the recording is one-way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siprec_recorder.calls.model import CallStatus
from siprec_recorder.errors import KvsServiceError, MediaError
from siprec_recorder.media.decode import StreamDecoder
from siprec_recorder.media.pcm import PcmSpool
from siprec_recorder.media.results import CallFilter, DecodeResult, TrackResult
from siprec_recorder.pipeline.plan import CallPlan, PlannedStream
from siprec_recorder.pipeline.resync import resume_after_errors
from siprec_recorder.pipeline.sources import MediaSource
from siprec_recorder.pipeline.workarea import WorkArea
from siprec_recorder.recording.build import build_recording
from siprec_recorder.recording.keys import recording_keys
from siprec_recorder.recording.model import OutputOptions, PartyAudio, QuarantineItem
from siprec_recorder.recording.store import RecordingStore

CHECKPOINT_VERSION = 1
FEED_BYTES = 1 << 20  # feed the decoder about 1 MiB at a time, whatever the source's chunks


@dataclass
class RecordOutcome:
    """Finished (status + manifest) or to be continued (checkpoint).

    `status` FAILED means the objects were written but no party had any audio."""

    status: CallStatus | None
    manifest: dict[str, Any] | None = None
    manifest_key: str | None = None
    checkpoint: dict[str, Any] | None = None
    reason: str | None = None


def record_call(
    plan: CallPlan,
    source: MediaSource,
    store: RecordingStore,
    options: OutputOptions,
    *,
    work: WorkArea | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    time_is_up: Callable[[], bool] = lambda: False,
    keep_partial_on_kvs_error: bool = True,
    decoder_fast: bool = True,
) -> RecordOutcome:
    """Decode every stream of the plan and build the recording (or checkpoint and stop early).

    `keep_partial_on_kvs_error=False` lets a KvsServiceError from fetching propagate, so the job
    is retried while KVS still holds the media, instead of writing that party as missing.
    """
    done: dict[str, Any] = dict((checkpoint or {}).get("streams", {}))
    with tempfile.TemporaryDirectory(prefix="recorder-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        parties: list[PartyAudio] = []
        quarantine: list[QuarantineItem] = []
        fresh: list[tuple[PartyAudio, QuarantineItem | None]] = []
        for index, planned in enumerate(plan.streams):
            if planned.label in done and work is not None:
                party, item = _restore(planned, done[planned.label], work, tmp)
            else:
                party, item = _decode(
                    planned, plan, source, tmp, keep_partial_on_kvs_error, decoder_fast
                )
                fresh.append((party, item))
            if party.pcm is not None:
                stack.callback(party.pcm.close)
            parties.append(party)
            if item is not None:
                quarantine.append(item)
            # Stop only after new progress (every invocation moves the call forward). Work
            # files are written only here, so a call that fits one invocation writes none.
            if fresh and work is not None and index + 1 < len(plan.streams) and time_is_up():
                for new_party, new_item in fresh:
                    done[new_party.label] = _save(new_party, new_item, work, tmp)
                return RecordOutcome(
                    status=None,
                    checkpoint={"version": CHECKPOINT_VERSION, "streams": done},
                    reason="time budget reached; continuing in a new invocation",
                )
        heard = any(party.has_audio for party in parties)
        manifest = build_recording(plan.facts, parties, store, options, quarantine=quarantine)
    keys = recording_keys(
        plan.facts.interaction_id, plan.facts.transaction_id, plan.facts.start_time, options.prefix
    )
    one_way = manifest.get("one_way")
    status = CallStatus.RECORDED_ONE_WAY if one_way else CallStatus.RECORDED
    reason = str(one_way.get("reason")) if isinstance(one_way, dict) else None
    if not heard:
        # nobody's audio: not a one-way recording but none at all (the manifest and any
        # quarantined media are still written, so what was fetched is kept)
        status, reason = CallStatus.FAILED, f"no_audio: {reason or 'no stream decoded'}"
    return RecordOutcome(status, manifest, keys.manifest, reason=reason)


def _party(planned: PlannedStream, track: TrackResult | None, error: str | None) -> PartyAudio:
    stream = planned.stream
    participant = planned.participant
    return PartyAudio(
        label=planned.label,
        participant_id=participant.id if participant else None,
        aor=participant.aor if participant else None,
        name=participant.name if participant else None,
        role=planned.role,
        is_caller=planned.is_caller,
        stream_arn=stream.stream_arn if stream else None,
        media_index=stream.media_index if stream else None,
        pcm=track.pcm if track else None,
        start_ns=track.start_ns if track else None,
        frames=track.frames if track else 0,
        gaps=track.gaps if track else 0,
        gap_ms=track.gap_ms if track else 0.0,
        overlaps=track.overlaps if track else 0,
        decode_error=error,
    )


def _audio_track(result: DecodeResult) -> TrackResult | None:
    """The stream's audio track (Chime writes one); extra audio tracks' spools are released."""
    audio = [t for t in result.tracks if t.pcm is not None]
    audio.sort(key=lambda t: t.samples, reverse=True)
    for extra in audio[1:]:
        if extra.pcm is not None:
            extra.pcm.close()
    return audio[0] if audio else None


def _decode(
    planned: PlannedStream,
    plan: CallPlan,
    source: MediaSource,
    tmp: Path,
    keep_partial_on_kvs_error: bool = True,
    fast: bool = True,
) -> tuple[PartyAudio, QuarantineItem | None]:
    """Fetch and decode one stream, keeping the raw bytes until we know they were all used."""
    stream = planned.stream
    if stream is None:
        return _party(planned, None, "stream never started"), None
    call_filter = CallFilter(transaction_id=plan.facts.transaction_id)
    decoder = StreamDecoder(call_filter=call_filter, spool_dir=tmp, fast=fast)
    error: str | None = None
    pending = bytearray()  # the decoder's fast path works on many fragments per feed

    def feed(final: bool = False) -> None:
        nonlocal error
        if error is None and (final or len(pending) >= FEED_BYTES):
            try:
                decoder.feed(bytes(pending))
            except MediaError as exc:
                # stop decoding, keep fetching: the raw media must all be kept
                error = str(exc)
        if final or len(pending) >= FEED_BYTES:
            pending.clear()

    with tempfile.NamedTemporaryFile(dir=tmp, prefix="raw-", suffix=".mkv", delete=False) as raw:
        raw_path = Path(raw.name)
        try:
            for batch in source.batches(stream.stream_arn, plan.start_ms, plan.end_ms):
                for chunk in batch:
                    raw.write(chunk)
                    pending += chunk
                    feed()
        except KvsServiceError as exc:  # KVS gave up (throttled, down, refused)
            if not keep_partial_on_kvs_error:
                raise  # retry the job: the media is still in KVS, the party is not missing
            error = error or str(exc)
        except MediaError as exc:  # the source has no media for the stream: keep what we have
            error = error or str(exc)
        finally:
            feed(final=True)
    plan.facts.warnings.extend(source.notes(stream.stream_arn))
    try:
        decoder.close()
    except MediaError as exc:  # the audio decoded before the error is still ours
        error = error or str(exc)
    resumed = resume_after_errors(decoder, raw_path)  # and the audio after damaged fragments
    result = decoder.result
    track = _audio_track(result)
    if resumed:
        plan.facts.warnings.append(
            f"stream {planned.label}: decoding resumed {len(resumed)} time(s) after media errors"
            f" (first at byte {resumed[0]}); the damaged stretches are silence"
        )
    if result.truncated:
        error = error or f"media cut off at byte {result.truncated_at}"
    if track is None and error is None:
        error = "no audio track in the stream's media"
    item = _quarantine(planned, error, raw_path) if error else None
    if item is None:
        raw_path.unlink(missing_ok=True)
    return _party(planned, track, error), item


def _quarantine(planned: PlannedStream, error: str, raw: Path) -> QuarantineItem:
    arn = planned.stream.stream_arn if planned.stream else None
    return QuarantineItem(label=planned.label, stream_arn=arn, error=error, raw=raw)


def _save(
    party: PartyAudio, item: QuarantineItem | None, work: WorkArea, tmp: Path
) -> dict[str, Any]:
    """Put a finished stream in the work area; return its checkpoint entry."""
    entry: dict[str, Any] = {
        "start_ns": party.start_ns,
        "frames": party.frames,
        "gaps": party.gaps,
        "gap_ms": party.gap_ms,
        "overlaps": party.overlaps,
        "decode_error": party.decode_error,
        "pcm": None,
        "sample_rate": None,
        "raw": None,
    }
    if party.pcm is not None:
        party.pcm.flush()
        name = f"{party.label}.pcm"
        work.save(name, party.pcm.path)
        entry.update(pcm=name, sample_rate=party.pcm.sample_rate)
    if item is not None and isinstance(item.raw, Path):
        name = f"{party.label}.raw.mkv"
        work.save(name, item.raw)
        entry["raw"] = name
    return entry


def _restore(
    planned: PlannedStream, entry: Mapping[str, Any], work: WorkArea, tmp: Path
) -> tuple[PartyAudio, QuarantineItem | None]:
    """A stream finished by an earlier invocation, back from the work area."""
    track: TrackResult | None = None
    if entry.get("pcm"):
        spool = PcmSpool(int(entry["sample_rate"]), tmp)
        if not work.load(str(entry["pcm"]), spool.path):
            spool.close()
            raise MediaError(f"checkpointed audio of stream {planned.label} is missing")
        spool.reopen()
        track = TrackResult(
            number=1,
            name=None,
            codec="A_PCM/INT/LIT",
            sample_rate=spool.sample_rate,
            channels=1,
            frames=int(entry["frames"]),
            samples=spool.samples,
            gaps=int(entry["gaps"]),
            gap_ms=float(entry["gap_ms"]),
            overlaps=int(entry["overlaps"]),
            overlap_ms=0.0,
            start_ns=entry.get("start_ns"),
            pcm=spool,
        )
    error = entry.get("decode_error")
    item = None
    if entry.get("raw"):
        raw = tmp / f"restored-{planned.label}.mkv"
        if work.load(str(entry["raw"]), raw):
            item = _quarantine(planned, str(error), raw)
    return _party(planned, track, error), item
