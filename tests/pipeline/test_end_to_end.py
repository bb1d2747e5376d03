"""A simulated SIPREC call through the real handlers, moto's server and our KVS server.

Expected audio is the simulator's source PCM (what it put on each leg), never the decoder's.
"""

from __future__ import annotations

import json

import numpy as np
from jsonschema import Draft202012Validator

from siprec_recorder.simulate import simulate_call
from tests.conftest import REPO_ROOT
from tests.pipeline.conftest import process_args, run_call

SCHEMA = json.loads(
    (REPO_ROOT / "layers/siprec_recorder/siprec_recorder/schemas/manifest.schema.json").read_text()
)


def test_call_is_recorded_bit_exact_and_aligned(stack):
    call = simulate_call(
        duration_s=24, seed=11, gaps=True, late_join_s=3, reused_stream=True, updated=True
    )
    landed = run_call(stack, call)
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    m = landed.manifest
    assert m is not None
    Draft202012Validator(SCHEMA).validate(m)
    assert m["interaction_id"] == call.conversation_id
    assert m["interaction_id_source"] == "header:x-inin-cnv"
    assert m["transaction_id"] == call.transaction_id
    assert m["one_way"] is None

    t0 = min(leg.start_ms for leg in call.legs)
    by_label = {p["label"]: p for p in m["participants"]}
    stereo = landed.audio(m["stereo"]["key"])
    for leg in call.legs:
        entry = by_label[leg.label]
        assert entry["role"] == leg.role
        mono = landed.audio(entry["key"])
        # per participant: exactly the PCM the simulator put on the leg (gaps as silence)
        np.testing.assert_array_equal(mono, leg.pcm)
        # stereo: the leg's PCM sits at its wall-clock offset on its side
        side = 0 if leg.role == "customer" else 1
        offset = (leg.start_ms - t0) * 8
        np.testing.assert_array_equal(stereo[offset : offset + len(leg.pcm), side], leg.pcm)
        assert not stereo[:offset, side].any()
        assert not stereo[offset + len(leg.pcm) :, side].any()
        assert entry["gaps"] == len(leg.gaps_ms)

    # the transfer (UPDATED re-INVITE): the agent stream belongs to the second agent now, and
    # the timeline keeps who had it before (names as the simulator wrote them)
    assert by_label["2"]["name"] == "Second Agent"
    agents = [(t["name"], t["end"]) for t in m["timeline"] if t["label"] == "2"]
    assert agents == [("Test Agent", "left"), ("Second Agent", "call_end")]

    # every object the recorder wrote is encrypted with the stack's own KMS key
    s3 = stack.client("s3")
    for key in landed.keys:
        head = s3.head_object(Bucket=stack.settings.bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"] == stack.kms_key_arn, key

    # every object is listed with its digest, and tagged without names or numbers
    listed = {o["key"] for o in m["objects"]}
    assert set(landed.keys) == listed | {landed.folder + "manifest.json"}
    numbers = {
        e["detail"][k].lstrip("+")
        for e in call.events
        for k in ("fromNumber", "toNumber")
        if e["detail"].get(k)
    }
    names = {leg.name for leg in call.legs}
    secrets = {s for s in numbers | names if s}
    assert numbers and names  # the simulator does put numbers and names in the call
    s3 = stack.client("s3")
    for key in landed.keys:
        tags = {
            t["Key"]: t["Value"]
            for t in s3.get_object_tagging(Bucket=stack.settings.bucket, Key=key)["TagSet"]
        }
        assert tags["TransactionId"] == call.transaction_id
        assert tags["Genesys-Interaction-ID"] == call.conversation_id
        assert tags["CallId"] == call.call_id
        assert "Participant" in tags
        for value in tags.values():
            for secret in secrets:
                assert secret not in value, (key, value)
    # the consumers were told, once
    events = stack.recording_events(wait_s=2)
    mine = [e for e in events if e["detail"]["transaction_id"] == call.transaction_id]
    assert len(mine) == 1
    assert mine[0]["detail-type"] == "Recording Available"
    assert mine[0]["detail"]["manifest_key"] == landed.status.manifest_key


def test_process_offline_gives_the_same_objects(stack, tmp_path):
    from siprec_recorder.cli import main
    from tests.pipeline.conftest import write_call_files

    call = simulate_call(duration_s=10, seed=12, gaps=True)
    landed = run_call(stack, call)
    events, media = write_call_files(call, tmp_path / "call")
    args = process_args(events, media, tmp_path / "out")
    assert main(args) == 0
    assert landed.manifest is not None
    for obj in landed.manifest["objects"] + [{"key": landed.status.manifest_key}]:
        offline = (tmp_path / "out" / obj["key"]).read_bytes()
        s3 = stack.client("s3").get_object(Bucket=stack.settings.bucket, Key=obj["key"])
        assert offline == s3["Body"].read(), obj["key"]


def test_missing_leg_is_recorded_one_way_with_the_survivor(stack):
    call = simulate_call(duration_s=8, seed=13, missing_leg=True)
    # the call waits for its second leg; the sweeper gives up after the grace period (0 here)
    waiting = run_call(stack, call, env={"SWEEP_STREAM_GRACE_MINUTES": "0"})
    assert waiting.status is not None and waiting.status.status.value == "ENDED"
    waiting.pipeline.sweep()
    landed = run_call(stack, call, events=[], ingest_media=False)
    assert landed.status is not None
    assert landed.status.status.value == "RECORDED_ONE_WAY"
    m = landed.manifest
    assert m is not None and m["one_way"] is not None
    assert m["one_way"]["missing"] == call.missing_labels
    survivor = [p for p in m["participants"] if p["label"] not in call.missing_labels]
    assert len(survivor) == 1
    leg = next(leg for leg in call.legs if leg.label == survivor[0]["label"])
    np.testing.assert_array_equal(landed.audio(survivor[0]["key"]), leg.pcm)


def test_a_leg_whose_events_come_after_the_job_was_queued_is_recorded_again(stack):
    """EventBridge delivered the agent leg's events late: the sweeper had queued the call
    without it, and its STARTED came while the job waited. That recording lacks the leg, so it
    must not be final: once the leg's ENDED comes the call is recorded again, with both parties,
    and announced once."""
    call = simulate_call(duration_s=8, seed=15)
    late_arn = call.legs[1].stream_arn
    late = [e for e in call.events if e["detail"].get("streamArn") == late_arn]
    early = [e for e in call.events if e["detail"].get("streamArn") != late_arn]
    waiting = run_call(stack, call, events=early, env={"SWEEP_STREAM_GRACE_MINUTES": "0"})
    assert waiting.status is not None and waiting.status.status.value == "ENDED"
    waiting.pipeline.sweep()  # grace period over: queued with one leg
    started = [e for e in late if e["detail"]["streamingStatus"] == "STARTED"]
    ended = [e for e in late if e["detail"]["streamingStatus"] == "ENDED"]
    again = run_call(stack, call, events=started, ingest_media=False)  # the recorder runs now
    assert again.status is not None and again.status.status.value == "ENDED"
    assert again.status.reason == "stream_started_while_recording"
    assert not [
        e for e in stack.recording_events() if e["detail"]["transaction_id"] == call.transaction_id
    ]
    landed = run_call(stack, call, events=ended, ingest_media=False)
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    m = landed.manifest
    assert m is not None and m["one_way"] is None
    by_label = {p["label"]: p for p in m["participants"]}
    for leg in call.legs:
        np.testing.assert_array_equal(landed.audio(by_label[leg.label]["key"]), leg.pcm)
    announced = stack.recording_events(wait_s=2)
    assert sum(e["detail"]["transaction_id"] == call.transaction_id for e in announced) == 1


def test_duplicated_and_reordered_events_give_one_recording(stack):
    call = simulate_call(duration_s=12, seed=14, updated=True)
    shuffled = list(reversed(call.events)) + call.events[:2] + call.events[-1:]
    landed = run_call(stack, call, events=shuffled)
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    assert landed.status.attempt == 1  # one job was ever sent
    events = stack.recording_events(wait_s=2)
    assert sum(e["detail"]["transaction_id"] == call.transaction_id for e in events) == 1
    versions = stack.client("s3").list_object_versions(
        Bucket=stack.settings.bucket, Prefix=landed.folder
    )["Versions"]
    assert len(versions) == len(landed.keys)  # nothing written twice


def test_two_sessions_of_one_conversation_are_both_kept(stack):
    """A Genesys conversation recorded in two SIPREC sessions (a transfer or a consult): two
    Chime transactions with the same x-inin-cnv. Each lands whole in its own folder under the
    conversation's; before, the second overwrote the first's manifest and audio."""
    first = simulate_call(duration_s=6, seed=61)
    second = simulate_call(duration_s=6, seed=62, conversation_id=first.conversation_id)
    assert first.transaction_id != second.transaction_id
    landed = [run_call(stack, call) for call in (first, second)]
    assert landed[0].folder != landed[1].folder
    for got in landed:
        assert got.status is not None and got.status.status.value == "RECORDED"
        assert got.manifest is not None and got.folder is not None
        assert got.manifest["transaction_id"] == got.call.transaction_id
        assert got.manifest["interaction_id"] == first.conversation_id
        assert f"/{first.conversation_id}/" in got.folder
        by_label = {p["label"]: p for p in got.manifest["participants"]}
        for leg in got.call.legs:  # still each call's own audio, after both were written
            np.testing.assert_array_equal(got.audio(by_label[leg.label]["key"]), leg.pcm)
