"""Chime "Streaming Status" EventBridge envelopes for a simulated SIPREC call leg.

Same shape as the real events in ../shared/chime-events plus the SIPREC fields (inviteHeaders,
sdp, siprecMetadata); UPDATED carries updateHeaders and new metadata but no stream or fragments.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

DETAIL_TYPE = "Chime VoiceConnector Streaming Status"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def iso_ms(ms: int) -> str:
    """2026-11-26T06:40:01.734Z, as Chime writes startTime/endTime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def iso_s(ms: int) -> str:
    """2026-11-26T06:40:02Z, as EventBridge writes the envelope `time`."""
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rand_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from `rng` (deterministic per seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def envelope(rng: random.Random, event_ms: int, detail: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge envelope; delivered a few hundred ms after the fact."""
    return {
        "version": "0",
        "id": rand_uuid(rng),
        "detail-type": DETAIL_TYPE,
        "source": "aws.chime",
        "account": ACCOUNT,
        "time": iso_s(event_ms + rng.randint(150, 900)),
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def leg_detail(
    *,
    status: str,
    call: dict[str, str],
    is_caller: bool,
    media_index: int,
    label: str,
) -> dict[str, Any]:
    """The detail fields every event of a leg shares (order as in the real events)."""
    return {
        "callId": call["call_id"],
        "direction": "Inbound",
        "transactionId": call["transaction_id"],
        "voiceConnectorId": call["voice_connector_id"],
        "version": "0",
        "streamingStatus": status,
        "isCaller": is_caller,
        "fromNumber": call["from_number"],
        "toNumber": call["to_number"],
        "sdp": {"mediaIndex": media_index, "mediaLabel": label},
    }


def started(
    base: dict[str, Any],
    *,
    stream_arn: str,
    start_fragment: str,
    start_ms: int,
    invite_headers: dict[str, str],
    metadata: str,
) -> dict[str, Any]:
    """STARTED: the stream, its first fragment of this call, the INVITE and its metadata."""
    return base | {
        "mediaType": "audio/L16",
        "startFragmentNumber": start_fragment,
        "startTime": iso_ms(start_ms),
        "streamArn": stream_arn,
        "inviteHeaders": invite_headers,
        "siprecMetadata": metadata,
    }


def updated(
    base: dict[str, Any], *, update_headers: dict[str, str], metadata: str
) -> dict[str, Any]:
    """UPDATED (a SIPREC re-INVITE): new headers and metadata, no stream or fragment numbers."""
    return base | {"updateHeaders": update_headers, "siprecMetadata": metadata}


def ended(
    base: dict[str, Any],
    *,
    stream_arn: str,
    start_fragment: str,
    current_fragment: str,
    start_ms: int,
    end_ms: int,
) -> dict[str, Any]:
    """ENDED: first and last fragment of this call, start and end time; no mediaType."""
    return base | {
        "startFragmentNumber": start_fragment,
        "currentFragmentNumber": current_fragment,
        "startTime": iso_ms(start_ms),
        "endTime": iso_ms(end_ms),
        "streamArn": stream_arn,
    }
