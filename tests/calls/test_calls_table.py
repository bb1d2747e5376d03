"""The DynamoDB adapter against moto in server mode: item layout, conditions, concurrency."""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import zlib
from typing import Any

import pytest

from siprec_recorder.aws.calls_table import MAX_BODY_BYTES, CallsTable, call_key
from siprec_recorder.calls.events import parse_event
from siprec_recorder.calls.model import CallStatus
from siprec_recorder.errors import EventError, StorageError
from tests.calls.conftest import Aws
from tests.calls.helpers import ARN_A, ARN_B, FROM_NUMBER, TXN, corpus_xml, event


def table(aws: Aws, **kw: Any) -> CallsTable:
    return CallsTable(aws.table_name, endpoint_url=aws.url, region="us-east-1", **kw)


def raw_item(aws: Aws, txn: str = TXN) -> dict[str, Any]:
    item: dict[str, Any] = aws.ddb.get_item(TableName=aws.table_name, Key=call_key(txn))["Item"]
    return item


def test_item_layout_ttl_and_gsi_attributes(aws: Aws) -> None:
    t = table(aws, ttl_days=30, clock=lambda: 1_700_000_000.0)
    t.apply_event(parse_event(event("STARTED", arn=ARN_A, xml=corpus_xml("cisco_1"), label="1")))
    item = raw_item(aws)
    assert item["pk"] == {"S": f"CALL#{TXN}"} and item["sk"] == {"S": "META"}
    assert item["status"] == {"S": "ACTIVE"}
    assert item["updated_at"] == {"S": "2023-11-14T22:13:20.000Z"}  # date -u -d @1700000000
    assert item["ttl"] == {"N": str(1_700_000_000 + 30 * 86400)}
    assert item["version"] == {"N": "1"}
    body = json.loads(zlib.decompress(item["body"]["B"]))
    assert body["streams"][0]["stream_arn"] == ARN_A
    assert "<label>2</label>" in body["metadata"][0]["xml"]
    text = json.dumps(body)
    # the event's fromNumber/toNumber fields are not kept (SIP headers are: correlation needs them)
    assert "fromNumber" not in text and "toNumber" not in text
    assert body["invite_headers"]["From"].count(FROM_NUMBER) == 1


def test_two_leg_call_enqueues_once_and_duplicates_do_not_write(aws: Aws) -> None:
    t = table(aws)
    xml = corpus_xml("cisco_1")
    evs = [
        parse_event(event("STARTED", arn=ARN_A, xml=xml, label="1")),
        parse_event(event("STARTED", arn=ARN_B, xml=xml, label="2")),
        parse_event(event("ENDED", arn=ARN_A)),
        parse_event(event("ENDED", arn=ARN_B)),
    ]
    effects = []
    for ev in evs:
        effects += t.apply_event(ev)[1]
    assert [(e.transaction_id, e.attempt) for e in effects] == [(TXN, 1)]
    version = raw_item(aws)["version"]
    call, again = t.apply_event(evs[2])
    assert again == [] and raw_item(aws)["version"] == version
    assert call.status == CallStatus.QUEUED


def test_concurrent_events_for_one_call_lose_no_stream(aws: Aws) -> None:
    t = table(aws)
    arns = [ARN_A.replace("/1680731924044", f"/16807319240{i:02d}") for i in range(8)]
    barrier = threading.Barrier(len(arns))
    errors: list[BaseException] = []

    def worker(arn: str) -> None:
        try:
            mine = table(aws)  # one client per thread, as separate Lambdas would have
            barrier.wait()
            mine.apply_event(parse_event(event("STARTED", arn=arn)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(a,)) for a in arns]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    call = t.get(TXN)
    assert call is not None
    assert sorted(s.stream_arn for s in call.streams) == sorted(arns)
    assert len(call.event_ids) == len(arns)


def test_conflict_is_retried_from_a_fresh_read(aws: Aws) -> None:
    t = table(aws)
    t.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    other = table(aws)
    calls = {"n": 0}

    def racing(call: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:  # someone else writes between our read and our write
            other.apply_event(parse_event(event("STARTED", arn=ARN_B)))
        from siprec_recorder.calls import lifecycle

        return lifecycle.apply_event(call, parse_event(event("ENDED", arn=ARN_A)))

    call, _ = t.update(TXN, racing)
    assert calls["n"] == 2
    assert {s.stream_arn for s in call.streams} == {ARN_A, ARN_B}


def big_metadata(compressible: bool) -> str:
    """cisco_1 grown to ~0.95 MB with a comment: repetitive text, or random base64."""
    if compressible:
        filler = "".join(f"<!-- participant {i:08d} joined -->" for i in range(26000))
    else:
        filler = base64.b64encode(random.Random(7).randbytes(700_000)).decode()
        filler = f"<!-- {filler} -->"
    return corpus_xml("cisco_1").replace("</recording>", filler + "</recording>")


def test_big_compressible_metadata_is_kept_whole(aws: Aws) -> None:
    xml = big_metadata(compressible=True)
    assert 900_000 < len(xml) <= 1 << 20
    table(aws).apply_event(parse_event(event("STARTED", arn=ARN_A, xml=xml, label="1")))
    assert len(raw_item(aws)["body"]["B"]) <= MAX_BODY_BYTES
    call = table(aws).get(TXN)
    assert call is not None and call.metadata[0].xml == xml


def test_incompressible_metadata_is_dropped_but_labels_and_streams_are_kept(aws: Aws) -> None:
    xml = big_metadata(compressible=False)
    assert 900_000 < len(xml) <= 1 << 20
    table(aws).apply_event(parse_event(event("STARTED", arn=ARN_A, xml=xml, label="1")))
    assert len(raw_item(aws)["body"]["B"]) <= MAX_BODY_BYTES
    call = table(aws).get(TXN)
    assert call is not None and call.stream(ARN_A) is not None
    snap = call.metadata[0]
    assert snap.xml is None and snap.dropped == "item_size"
    assert snap.labels == ("1", "2")  # cisco_1 by hand: labels 1 and 2


def test_status_index_lists_old_calls_only(aws: Aws) -> None:
    now = {"t": 1_700_000_000.0}
    t = table(aws, clock=lambda: now["t"])
    t.apply_event(parse_event(event("STARTED", arn=ARN_A, txn="old-call")))
    now["t"] += 3600
    t.apply_event(parse_event(event("STARTED", arn=ARN_A, txn="new-call")))
    cut = "2023-11-14T22:43:20.000Z"  # half an hour after the first write
    found = [c.transaction_id for c in t.list_by_status(CallStatus.ACTIVE, cut)]
    assert found == ["old-call"]
    assert list(t.list_by_status(CallStatus.QUEUED, "9999")) == []


def test_claim_checkpoint_and_single_terminal_state(aws: Aws) -> None:
    t = table(aws)
    t.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    t.apply_event(parse_event(event("ENDED", arn=ARN_A)))
    assert t.claim(TXN, 2) is None
    claimed = t.claim(TXN, 1)
    assert claimed is not None and claimed.status == CallStatus.RECORDING
    assert raw_item(aws)["status"] == {"S": "RECORDING"}
    t.save_checkpoint(TXN, {"next_fragment": "42"})
    saved = t.get(TXN)
    assert saved is not None and saved.checkpoint == {"next_fragment": "42"}
    planned = frozenset({ARN_A})
    done, effects = t.finish_recording(
        TXN, CallStatus.RECORDED, "recordings/x/manifest.json", None, planned
    )
    assert effects == [] and raw_item(aws)["status"] == {"S": "RECORDED"}
    again = t.finish_recording(
        TXN, CallStatus.RECORDED, "recordings/x/manifest.json", None, planned
    )
    assert again == (done, [])
    with pytest.raises(EventError, match="already RECORDED"):
        t.mark_failed(TXN, "late")
    assert t.get(TXN) == done


def test_a_redelivered_claim_restarts_the_sweepers_clock_and_a_stale_one_does_not(
    aws: Aws,
) -> None:
    """Taking a RECORDING call back changes nothing in it, yet it must be written: updated_at
    is the sweeper's clock, and an unwritten redelivery let the sweeper resend the job as a new
    attempt, which made the last SQS receive stale."""
    now = [1_700_000_000.0]
    t = CallsTable(aws.table_name, endpoint_url=aws.url, region="us-east-1", clock=lambda: now[0])
    t.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    t.apply_event(parse_event(event("ENDED", arn=ARN_A)))
    first = t.claim(TXN, 1)
    assert first is not None
    now[0] += 5400  # the visibility timeout later, SQS delivers the job again
    again = t.claim(TXN, 1, reclaim=True)
    assert again is not None and again.updated_at > first.updated_at
    assert again.version == first.version + 1
    now[0] += 60
    assert t.claim(TXN, 2, reclaim=True) is None  # not the current attempt: nothing written
    stored = t.get(TXN)
    assert stored is not None
    assert (stored.updated_at, stored.version) == (again.updated_at, again.version)


def test_concurrent_terminal_writes_leave_exactly_one(aws: Aws) -> None:
    t = table(aws)
    t.apply_event(parse_event(event("STARTED", arn=ARN_A)))
    t.apply_event(parse_event(event("ENDED", arn=ARN_A)))
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def recorded() -> None:
        barrier.wait()
        try:
            table(aws).finish_recording(
                TXN, CallStatus.RECORDED, "m.json", None, frozenset({ARN_A})
            )
            outcomes.append("recorded")
        except EventError:
            outcomes.append("refused")

    def failed() -> None:
        barrier.wait()
        try:
            table(aws).mark_failed(TXN, "recorder_never_finished")
            outcomes.append("failed")
        except EventError:
            outcomes.append("refused")

    threads = [threading.Thread(target=recorded), threading.Thread(target=failed)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes) in (["recorded", "refused"], ["failed", "refused"])
    final = t.get(TXN)
    assert final is not None and final.terminal
    assert final.status.value == ("RECORDED" if "recorded" in outcomes else "FAILED")


def test_missing_table_is_a_storage_error(aws: Aws) -> None:
    t = CallsTable("no-such-table", endpoint_url=aws.url, region="us-east-1")
    with pytest.raises(StorageError, match="ResourceNotFoundException"):
        t.get(TXN)
    start = time.monotonic()
    with pytest.raises(StorageError):
        t.change(TXN, lambda c: c)
    assert time.monotonic() - start < 10
