"""Recording assurance under faults: every call ends in one known state and no audio is lost."""

from __future__ import annotations

import json

import boto3
import numpy as np
import pytest
from botocore.stub import Stubber

from siprec_recorder.aws.s3 import S3Store
from siprec_recorder.errors import StorageError
from siprec_recorder.simulate import simulate_call
from tests.pipeline.conftest import process_args, run_call, write_call_files


def test_missing_bucket_fails_the_call_with_its_cause_and_the_job_reaches_the_dlq(stack):
    call = simulate_call(duration_s=4, seed=21)
    landed = run_call(stack, call, env={"RECORDINGS_BUCKET": "no-such-recordings-bucket"})
    assert landed.status is not None
    assert landed.status.status.value == "FAILED"
    assert landed.status.reason == "bucket_missing"
    sqs = stack.client("sqs")
    dlq = sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in dlq]
    assert {"transaction_id": call.transaction_id, "attempt": 1} in bodies


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AccessDenied", "s3_access_denied"),
        ("KMS.DisabledException", "kms_access_denied"),
        ("NoSuchBucket", "bucket_missing"),
    ],
)
def test_s3_refusals_are_named(code, expected, tmp_path):
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    store = S3Store("recordings", client=client)
    data = b"RIFF...."
    with Stubber(client) as stub:
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_client_error("put_object", code, http_status_code=403)
        with pytest.raises(StorageError) as err:
            store.put_bytes("recordings/x/manifest.json", data, content_type="x", tags={})
    assert err.value.code == expected


def test_kvs_throttling_and_server_errors_are_retried(stack):
    call = simulate_call(duration_s=8, seed=22)
    stack.kvs.faults.throttle("ListFragments", times=2)
    stack.kvs.faults.fail("GetMediaForFragmentList", times=1)
    stack.kvs.faults.throttle("GetDataEndpoint", times=1)
    landed = run_call(stack, call)
    stack.kvs.faults.clear()
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    assert landed.manifest is not None
    for entry in landed.manifest["participants"]:
        leg = next(leg for leg in call.legs if leg.label == entry["label"])
        np.testing.assert_array_equal(landed.audio(entry["key"]), leg.pcm)


def _corrupt(data: bytes) -> bytes:
    """Overwrite the middle of a fragment (inside its Cluster) with bytes no EBML reader accepts."""
    mid = len(data) // 2
    return data[:mid] + b"\xff" * 64 + data[mid + 64 :]


def test_corrupt_media_is_quarantined_and_the_rest_still_recorded(stack):
    """A damaged fragment in the middle of the customer's leg: the raw media is quarantined
    byte for byte, and decoding resumes at the next fragment, so the leg is the source's audio
    before and after the damage with silence over the damaged fragment's 2 seconds. (Stopping
    at the damage lost the rest, here all the customer said: the call came out one-way.)"""
    call = simulate_call(duration_s=10, seed=23)
    leg = call.legs[0]
    k = len(leg.fragments) // 2
    info, data = leg.fragments[k]
    leg.fragments[k] = (info, _corrupt(data))
    landed = run_call(stack, call)
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    m = landed.manifest
    assert m is not None and len(m["quarantine"]) == 1 and m["one_way"] is None
    q = m["quarantine"][0]
    raw = stack.client("s3").get_object(Bucket=stack.settings.bucket, Key=q["key"])["Body"]
    # the raw media kept is exactly what KVS served for the stream: nothing is lost
    assert raw.read() == b"".join(d for _, d in leg.fragments)
    other = call.legs[1]
    entry = next(p for p in m["participants"] if p["label"] == other.label)
    np.testing.assert_array_equal(landed.audio(entry["key"]), other.pcm)
    bad = next(p for p in m["participants"] if p["label"] == leg.label)
    assert bad["decode_error"]  # the damage stays visible
    assert bad["overlaps"] == 0  # resumed after the damaged fragment, not before it
    assert any("decoding resumed" in w for w in m["warnings"])
    got = landed.audio(bad["key"])
    lo, hi = k * 2000 * 8, (k + 1) * 2000 * 8  # fragments are 2 s of 8 kHz audio
    assert len(got) == len(leg.pcm)
    np.testing.assert_array_equal(got[:lo], leg.pcm[:lo])
    # the damaged fragment: the source up to the damage (what decoded of it), then silence
    damaged = got[lo:hi]
    differs = np.flatnonzero(damaged != leg.pcm[lo:hi])
    assert differs.size  # its audio after the damage is lost...
    kept = int(differs[0])
    np.testing.assert_array_equal(damaged[:kept], leg.pcm[lo : lo + kept])
    assert not damaged[kept:].any()  # ...as silence, not as anything else
    np.testing.assert_array_equal(got[hi:], leg.pcm[hi:])
    assert leg.pcm[hi:].any()  # the part that came back holds speech


def test_process_keeps_the_raw_file_when_media_is_corrupt(tmp_path):
    from siprec_recorder.cli import main

    call = simulate_call(duration_s=6, seed=24)
    events, media = write_call_files(call, tmp_path / "call")
    arn = call.legs[1].stream_arn
    raw = bytearray(media[arn].read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = b"\xff" * 64
    media[arn].write_bytes(bytes(raw))
    args = process_args(events, media, tmp_path / "out")
    assert main(args) == 0
    kept = [p for p in (tmp_path / "out").rglob("*.mkv") if "quarantine" in p.parts]
    assert len(kept) == 1 and kept[0].read_bytes() == bytes(raw)


def test_media_cut_off_is_quarantined_and_what_came_before_is_kept(tmp_path):
    """A leg's media that simply stops inside its last Cluster (a cut upload, a truncated
    dump): the raw bytes are kept, the manifest says where the cut is, and every sample of the
    fragments before it is in the recording."""
    import json

    from siprec_recorder.cli import main

    call = simulate_call(duration_s=6, seed=51)
    events, media = write_call_files(call, tmp_path / "call")
    leg = call.legs[1]
    raw = media[leg.stream_arn].read_bytes()
    last = leg.fragments[-1][1]
    tags_after = last.rfind(bytes.fromhex("1254C367"))  # the Tags after the last Cluster
    cut = raw[: len(raw) - len(last) + tags_after - 200]  # inside that Cluster's blocks
    media[leg.stream_arn].write_bytes(cut)
    assert main(process_args(events, media, tmp_path / "out")) == 0
    (manifest_file,) = (tmp_path / "out").rglob("manifest.json")
    m = json.loads(manifest_file.read_text())
    (q,) = m["quarantine"]
    # the cut is reported at the element it broke: inside the last fragment, not past the end
    cut_at = int(q["error"].rsplit(" ", 1)[-1])
    assert "cut off" in q["error"] and len(raw) - len(last) < cut_at < len(cut)
    assert (tmp_path / "out" / q["key"]).read_bytes() == cut
    entry = next(p for p in m["participants"] if p["label"] == leg.label)
    import soundfile as sf

    got, rate = sf.read(tmp_path / "out" / entry["key"], dtype="int16")
    before = (len(leg.fragments) - 1) * 2000 * 8  # fragments are 2 s of 8 kHz audio
    assert rate == 8000 and len(got) >= before
    np.testing.assert_array_equal(got[:before], leg.pcm[:before])


def test_a_long_call_continues_from_its_checkpoint_with_identical_objects(stack, tmp_path):
    """Time budget 0: the first invocation checkpoints after one stream and requeues."""
    from siprec_recorder.cli import main

    call = simulate_call(duration_s=8, seed=25, gaps=True)
    landed = run_call(stack, call, env={"RECORDER_TIME_BUDGET_SECONDS": "0"})
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    assert landed.status.attempt == 2  # continued once
    events, media = write_call_files(call, tmp_path / "call")
    args = process_args(events, media, tmp_path / "out")
    assert main(args) == 0
    assert landed.manifest is not None
    s3 = stack.client("s3")
    for obj in landed.manifest["objects"]:
        body = s3.get_object(Bucket=stack.settings.bucket, Key=obj["key"])["Body"].read()
        assert body == (tmp_path / "out" / obj["key"]).read_bytes(), obj["key"]


def test_reprocessing_after_a_partial_write_is_byte_identical_without_new_versions(stack):
    from siprec_recorder.aws.calls_table import CallsTable
    from siprec_recorder.calls.model import CallStatus
    from siprec_recorder.local.driver import LocalPipeline

    call = simulate_call(duration_s=6, seed=26)
    landed = run_call(stack, call)
    assert landed.manifest is not None and landed.folder is not None
    s3 = stack.client("s3")
    bucket = stack.settings.bucket
    before = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in landed.keys}
    # a recorder crashed after writing some objects: one object is gone, the call is queued again
    victim = landed.manifest["stereo"]["key"]
    s3.delete_object(Bucket=bucket, Key=victim)
    versions_before = len(s3.list_object_versions(Bucket=bucket, Prefix=landed.folder)["Versions"])
    table = CallsTable(stack.settings.calls_table, client=stack.client("dynamodb"))
    from dataclasses import replace

    table.change(
        call.transaction_id,
        lambda c: replace(c, status=CallStatus.QUEUED, manifest_key=None, attempt=c.attempt + 1),
    )
    queue = stack.client("sqs")
    queue.send_message(
        QueueUrl=stack.queue_url,
        MessageBody=json.dumps({"transaction_id": call.transaction_id, "attempt": 2}),
    )
    LocalPipeline(stack).drain()
    after = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in landed.keys}
    assert after == before
    versions = s3.list_object_versions(Bucket=bucket, Prefix=landed.folder)["Versions"]
    # only the deleted object was written again; everything else was left as it was
    assert len(versions) == versions_before + 1
    assert table.get(call.transaction_id).status == CallStatus.RECORDED


def test_a_fragment_kvs_never_delivers_is_retried_then_becomes_a_counted_gap(stack):
    call = simulate_call(duration_s=10, seed=27)
    leg = call.legs[1]
    k = 2
    lost = leg.fragments[k][0].number
    stack.kvs.faults.drop_fragment(lost)
    before = stack.kvs.call_count("GetMediaForFragmentList")
    try:
        landed = run_call(stack, call)
    finally:
        stack.kvs.faults.clear()
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    # asked again with backoff before giving up on it (6 attempts), plus one for the rest
    assert stack.kvs.call_count("GetMediaForFragmentList") - before >= 6 + 1
    m = landed.manifest
    assert m is not None
    assert any(lost in w for w in m["warnings"])
    entry = next(p for p in m["participants"] if p["label"] == leg.label)
    expected = leg.pcm.copy()
    samples = 2000 * 8  # one 2 s fragment at 8 kHz
    expected[k * samples : (k + 1) * samples] = 0
    np.testing.assert_array_equal(landed.audio(entry["key"]), expected)
    assert entry["gaps"] == 1 and entry["gap_ms"] == 2000


def test_kvs_giving_up_retries_the_job_instead_of_recording_a_party_as_missing(stack):
    """ListFragments throttled past the adapter's 6 attempts: the media is still in KVS, so the
    job goes back to the queue; the next receive records both parties bit-exact."""
    call = simulate_call(duration_s=8, seed=28)
    stack.kvs.faults.throttle("ListFragments", times=6)
    try:
        landed = run_call(stack, call)
    finally:
        stack.kvs.faults.clear()
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    assert landed.manifest is not None and landed.manifest["one_way"] is None
    assert landed.status.attempt == 1  # the same job, received again by SQS
    for entry in landed.manifest["participants"]:
        leg = next(leg for leg in call.legs if leg.label == entry["label"])
        np.testing.assert_array_equal(landed.audio(entry["key"]), leg.pcm)


def test_a_call_with_no_audio_at_all_is_failed_not_recorded_one_way(stack):
    """KVS holds nothing for either leg: that is not a one-way recording but no recording, so
    the call is FAILED (and counted by the FailedCalls alarm), and no Recording Available
    event tells consumers there is something to play."""
    call = simulate_call(duration_s=4, seed=29)
    for leg in call.legs:  # the streams exist, their fragments never arrived
        name, created = leg.stream_arn.split(":stream/", 1)[1].split("/", 1)
        assert stack.kvs.create_stream(name, creation_ms=int(created)) == leg.stream_arn
    stack.recording_events()  # drop other tests' announcements
    landed = run_call(stack, call, ingest_media=False)
    assert landed.status is not None
    assert landed.status.status.value == "FAILED"
    assert landed.status.reason is not None and landed.status.reason.startswith("no_audio")
    assert stack.recording_events(wait_s=0.5) == []


def _process_with_leg(tmp_path, call, leg_index: int, media_bytes: bytes):
    """`process` the call with one leg's media replaced; the leg's mono audio and party."""
    import json

    import soundfile as sf

    from siprec_recorder.cli import main

    events, media = write_call_files(call, tmp_path / "call")
    leg = call.legs[leg_index]
    media[leg.stream_arn].write_bytes(media_bytes)
    assert main(process_args(events, media, tmp_path / "out")) == 0
    (manifest_file,) = (tmp_path / "out").rglob("manifest.json")
    m = json.loads(manifest_file.read_text())
    party = next(p for p in m["participants"] if p["label"] == leg.label)
    audio, _ = sf.read(tmp_path / "out" / party["key"], dtype="int16")
    return m, party, audio


def test_damage_in_the_first_fragment_keeps_every_later_one(tmp_path):
    """Before any audio was placed (the first fragment's Cluster is damaged): the resumed
    decoder's audio is the leg, from the second fragment's time on."""
    call = simulate_call(duration_s=8, seed=52)
    leg = call.legs[1]
    info, data = leg.fragments[0]
    cluster = data.find(bytes.fromhex("1F43B675"))  # the Cluster: the first block follows it
    assert cluster > 0
    leg.fragments[0] = (info, data[:cluster] + b"\xff" * 64 + data[cluster + 64 :])
    m, party, audio = _process_with_leg(tmp_path, call, 1, b"".join(d for _, d in leg.fragments))
    assert party["decode_error"] and party["overlaps"] == 0
    np.testing.assert_array_equal(audio, leg.pcm[16000:])  # fragments are 2 s of 8 kHz


def test_a_fragment_the_timeline_refuses_is_skipped_and_the_rest_kept(tmp_path):
    """Fragment 2 stamped 7 hours late: the timeline refuses the gap (a MediaError raised
    while placing audio, not while reading); decoding resumes at fragment 3, which is back in
    place, so only fragment 2's span is silence."""
    from siprec_recorder.media.writer import kvs_seconds

    call = simulate_call(duration_s=8, seed=53)
    leg = call.legs[0]
    info, data = leg.fragments[2]
    stamp = kvs_seconds(info.producer_ms).encode()
    late = kvs_seconds(info.producer_ms + 7 * 3_600_000).encode()
    assert len(late) == len(stamp) and data.count(stamp) == 1
    leg.fragments[2] = (info, data.replace(stamp, late))
    m, party, audio = _process_with_leg(tmp_path, call, 0, b"".join(d for _, d in leg.fragments))
    assert party["decode_error"] and party["overlaps"] == 0
    assert len(audio) == len(leg.pcm)
    lo, hi = 2 * 16000, 3 * 16000
    np.testing.assert_array_equal(audio[:lo], leg.pcm[:lo])
    assert not audio[lo:hi].any()
    np.testing.assert_array_equal(audio[hi:], leg.pcm[hi:])
