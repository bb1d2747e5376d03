"""The calls table adapter: the only code that reads or writes the DynamoDB calls table.

Item layout (single table, one item per call):
- `pk = CALL#<transactionId>`, `sk = META`;
- `body` (Binary): the whole call record (`Call.to_dict()`) as zlib-compressed JSON. SIPREC XML is
  verbose text and compresses about 5-10x, so a call with its metadata fits the 400 KB item
  limit. If it still would not (bodies up to 1 MiB are accepted), the XML of the largest
  snapshots is dropped from the record (`dropped = "item_size"`, labels kept) before the write;
  the stream state is never dropped;
- `status`, `updated_at` (ISO-8601 UTC, sortable): keys of the GSI `status-index` (sweeper);
- `version` (N): optimistic concurrency; every write is conditional on the version read;
- `ttl` (N, epoch seconds): now + CALL_TTL_DAYS, refreshed at every write;
- `attempt` (N), `transaction_id` (S): for people reading the table.

Event idempotency markers are folded into the call record (`event_ids`), so "seen this event"
and "changed the call" are one atomic conditional write: no marker without the change.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from siprec_recorder.calls import lifecycle
from siprec_recorder.calls.events import StreamingStatusEvent
from siprec_recorder.calls.model import Call, CallStatus
from siprec_recorder.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

STATUS_INDEX = "status-index"
SK_META = "META"
MAX_BODY_BYTES = 350_000  # leaves room under DynamoDB's 400 KB for keys and attributes
MAX_RETRIES = 12

Updater = Callable[[Call | None], lifecycle.Transition]


def call_key(transaction_id: str) -> dict[str, Any]:
    """The primary key of a call's item."""
    return {"pk": {"S": f"CALL#{transaction_id}"}, "sk": {"S": SK_META}}


def now_iso(epoch_s: float) -> str:
    """`updated_at` format: UTC, milliseconds, `Z` (sorts as text)."""
    dt = datetime.fromtimestamp(epoch_s, UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_body(call: Call) -> bytes:
    """zlib(JSON) of the call; drops snapshot XML (largest first) only if it cannot fit."""
    body = _compress(call)
    while len(body) > MAX_BODY_BYTES:
        with_xml = [m for m in call.metadata if m.xml]
        if not with_xml:
            raise StorageError(
                f"call record is {len(body)} bytes compressed even without SIPREC XML "
                f"(max {MAX_BODY_BYTES})"
            )
        biggest = max(with_xml, key=lambda m: len(m.xml or ""))
        snaps = tuple(
            replace(m, xml=None, dropped="item_size") if m is biggest else m for m in call.metadata
        )
        call = replace(call, metadata=snaps)
        body = _compress(call)
    return body


def decode_body(data: bytes) -> Call:
    """Inverse of encode_body."""
    try:
        return Call.from_dict(json.loads(zlib.decompress(data)))
    except (zlib.error, ValueError) as exc:
        raise StorageError(f"stored call record is unreadable: {type(exc).__name__}") from None


def _compress(call: Call) -> bytes:
    text = json.dumps(call.to_dict(), separators=(",", ":"), sort_keys=True)
    return zlib.compress(text.encode("utf-8"), 6)


class CallsTable:
    """Read and change calls with conditional writes; safe under concurrent events."""

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        ttl_days: int = 30,
        clock: Callable[[], float] = time.time,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.table_name = table_name
        self.client: DynamoDBClient = client or boto3.client(
            "dynamodb", endpoint_url=endpoint_url, region_name=region
        )
        self.ttl_days = ttl_days
        self.clock = clock
        self.max_retries = max_retries
        self._rng = random.Random()  # noqa: S311 - backoff jitter, not a secret

    # -- reading -----------------------------------------------------------------------------
    def get(self, transaction_id: str) -> Call | None:
        """The call as last written (strongly consistent read), or None."""
        try:
            resp = self.client.get_item(
                TableName=self.table_name, Key=call_key(transaction_id), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"calls table get failed: {_code(exc)}") from exc
        item = resp.get("Item")
        return None if item is None else self._from_item(item)

    def list_by_status(self, status: CallStatus, updated_before: str) -> Iterator[Call]:
        """Calls in this status last written before `updated_before` (GSI, oldest first)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#s = :s AND updated_at < :t",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": status.value}, ":t": {"S": updated_before}},
        }
        while True:
            try:
                page = self.client.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError(f"calls table query failed: {_code(exc)}") from exc
            for item in page.get("Items", []):
                tid = item.get("transaction_id", {}).get("S")
                call = self._from_item(item) if "body" in item else (tid and self.get(tid))
                if call:
                    yield call
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    # -- changing ----------------------------------------------------------------------------
    def update(
        self, transaction_id: str, fn: Updater, *, touch: Callable[[], bool] | None = None
    ) -> lifecycle.Transition:
        """Read, apply fn, write if changed (conditional on version); retry on a conflict.

        `touch`: asked after fn ran; True writes even an unchanged call, to move updated_at."""
        for attempt in range(self.max_retries):
            old = self.get(transaction_id)
            new, effects = fn(old)
            if old is not None and new == old and not (touch is not None and touch()):
                return old, []
            if new.transaction_id != transaction_id:
                raise StorageError("update changed the transaction id")
            try:
                return self._put(new, old), effects
            except _Conflict:
                time.sleep(self._rng.uniform(0, 0.01 * (attempt + 1)))
        raise StorageError(f"calls table: {self.max_retries} write conflicts in a row")

    def change(self, transaction_id: str, fn: Callable[[Call], Call]) -> Call:
        """update() for transitions without effects on an existing call."""

        def step(call: Call | None) -> lifecycle.Transition:
            if call is None:
                raise StorageError("no such call in the calls table")
            return fn(call), []

        return self.update(transaction_id, step)[0]

    def apply_event(
        self, event: StreamingStatusEvent, reader: lifecycle.LabelsReader = lifecycle.read_labels
    ) -> lifecycle.Transition:
        """Fold one streaming status event into its call."""
        return self.update(event.transaction_id, lambda c: lifecycle.apply_event(c, event, reader))

    def claim(self, transaction_id: str, attempt: int, *, reclaim: bool = False) -> Call | None:
        """QUEUED -> RECORDING for this job attempt; None when the job is stale or done."""
        claimed: list[Call] = []

        def step(call: Call | None) -> lifecycle.Transition:
            if call is None:
                raise StorageError("no such call in the calls table")
            new = lifecycle.claim_for_recording(call, attempt, reclaim=reclaim)
            claimed[:] = [] if new is None else [new]
            return (new or call), []

        # a redelivered job takes its RECORDING call back unchanged: written anyway, so the
        # sweeper's clock (updated_at) restarts at every receive
        result = self.update(transaction_id, step, touch=lambda: bool(claimed))[0]
        return result if claimed else None

    def requeue(self, transaction_id: str) -> lifecycle.Transition:
        """RECORDING -> QUEUED with the next attempt (send the returned effect)."""

        def step(call: Call | None) -> lifecycle.Transition:
            if call is None:
                raise StorageError("no such call in the calls table")
            return lifecycle.requeue(call)

        return self.update(transaction_id, step)

    def save_checkpoint(self, transaction_id: str, checkpoint: Mapping[str, Any]) -> Call:
        """Store the recorder's opaque progress (the call must be RECORDING)."""
        return self.change(transaction_id, lambda c: lifecycle.save_checkpoint(c, checkpoint))

    def finish_recording(
        self,
        transaction_id: str,
        status: CallStatus,
        manifest_key: str,
        reason: str | None,
        planned: frozenset[str],
    ) -> lifecycle.Transition:
        """The single terminal success (conditional write; a repeat is a no-op), or back to
        waiting when a stream the recorder did not plan for started meanwhile."""

        def step(call: Call | None) -> lifecycle.Transition:
            if call is None:
                raise StorageError("no such call in the calls table")
            return lifecycle.finish_recording(call, status, manifest_key, reason, planned)

        return self.update(transaction_id, step)

    def mark_failed(self, transaction_id: str, reason: str) -> Call:
        """The single terminal failure (conditional write; a repeat is a no-op)."""
        return self.change(transaction_id, lambda c: lifecycle.mark_failed(c, reason))

    # -- internals ---------------------------------------------------------------------------
    def _put(self, new: Call, old: Call | None) -> Call:
        now = self.clock()
        stored = replace(new, version=(old.version if old else 0) + 1, updated_at=now_iso(now))
        item: dict[str, Any] = {
            **call_key(stored.transaction_id),
            "transaction_id": {"S": stored.transaction_id},
            "status": {"S": stored.status.value},
            "updated_at": {"S": stored.updated_at},
            "version": {"N": str(stored.version)},
            "attempt": {"N": str(stored.attempt)},
            "ttl": {"N": str(int(now) + self.ttl_days * 86400)},
            "body": {"B": encode_body(stored)},
        }
        if old is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(old.version)}},
            }
        try:
            self.client.put_item(TableName=self.table_name, Item=item, **condition)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise _Conflict from None
            raise StorageError(f"calls table write failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"calls table write failed: {_code(exc)}") from exc
        return stored

    @staticmethod
    def _from_item(item: Mapping[str, Any]) -> Call:
        body = item.get("body", {}).get("B")
        if not isinstance(body, bytes | bytearray):
            raise StorageError("calls table item has no body")
        call = decode_body(bytes(body))
        version = int(item.get("version", {}).get("N", call.version))
        return replace(call, version=version, updated_at=item.get("updated_at", {}).get("S", ""))


class _Conflict(Exception):
    """Someone else wrote the call since we read it."""


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
