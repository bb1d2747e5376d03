"""EventBridge adapter: announce "Recording Available" for transcription and AI consumers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from siprec_recorder.errors import StorageError

DETAIL_TYPE = "Recording Available"


def recording_available_detail(
    manifest: Mapping[str, Any], bucket: str, manifest_key: str
) -> dict[str, Any]:
    """The event's detail: ids, status and where the objects are. No names or phone numbers."""
    return {
        "transaction_id": manifest.get("transaction_id"),
        "interaction_id": manifest.get("interaction_id"),
        "call_id": manifest.get("call_id"),
        "status": "RECORDED_ONE_WAY" if manifest.get("one_way") else "RECORDED",
        "bucket": bucket,
        "manifest_key": manifest_key,
        "stereo_key": (manifest.get("stereo") or {}).get("key"),
        "participants": [
            {"label": p.get("label"), "role": p.get("role"), "key": p.get("key")}
            for p in manifest.get("participants", [])
        ],
        "format": manifest.get("format"),
    }


class EventPublisher:
    """Puts events on one bus with one source."""

    def __init__(self, bus: str, source: str, *, client: Any | None = None) -> None:
        self.bus = bus
        self.source = source
        self.client = client or boto3.client("events")

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> str:
        """Put one event; raise StorageError when EventBridge refuses it. Returns the event id."""
        entry: Any = {
            "EventBusName": self.bus,
            "Source": self.source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, sort_keys=True),
        }
        try:
            resp = self.client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(
                f"EventBridge put_events failed: {type(exc).__name__}", code="event_publish_failed"
            ) from exc
        if resp.get("FailedEntryCount"):
            code = resp["Entries"][0].get("ErrorCode", "unknown")
            raise StorageError(
                f"EventBridge refused the event: {code}", code="event_publish_failed"
            )
        return str(resp["Entries"][0].get("EventId", ""))
