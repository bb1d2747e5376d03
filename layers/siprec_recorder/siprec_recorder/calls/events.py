"""Powertools Parser (pydantic) models of the Chime "Chime VoiceConnector Streaming Status" event.

Kept light on purpose: the StreamStatus handler imports this at cold start (no lxml, no numpy).
Unknown fields are dropped, including `fromNumber`/`toNumber`, so phone numbers never reach the
call record or the logs. Bounds refuse hostile input before anything else looks at it.
The models are plain pydantic models, so `aws_lambda_powertools.utilities.parser.parse(event,
model=StreamingStatusEvent)` works too; `parse_events` adds the SQS-wrapped form and one-line
errors that never echo the input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from siprec_recorder.errors import EventError

DETAIL_TYPE = "Chime VoiceConnector Streaming Status"
MAX_METADATA_CHARS = 1 << 20  # SIPREC bodies are a few KiB; 1 MiB is the documented ceiling
MAX_HEADERS = 256
MAX_HEADER_NAME = 256
MAX_HEADER_VALUE = 16 * 1024
MAX_SQS_BODY = 2 * MAX_METADATA_CHARS
MAX_RECORDS = 100

Status = Literal["STARTED", "UPDATED", "ENDED", "FAILED"]
_TXN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_ARN = (
    r"^arn:[a-z0-9-]{1,32}:kinesisvideo:[a-z0-9-]{0,32}:\d{0,12}"
    r":stream/[A-Za-z0-9_.-]{1,256}/\d{1,20}$"
)
_FRAGMENT = r"^\d{1,128}$"
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}|\d{1,6}")  # what our models name
_CFG = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)


class SdpInfo(BaseModel):
    """Which SDP m-line (and `a=label`) of the SIPREC INVITE this stream carries."""

    model_config = _CFG

    media_index: int | None = Field(default=None, alias="mediaIndex", ge=0, le=1024)
    media_label: str | None = Field(default=None, alias="mediaLabel", min_length=1, max_length=256)


class StreamingStatusDetail(BaseModel):
    """`detail` of the event; optional fields as documented (see chime-events/README.md)."""

    model_config = _CFG

    streaming_status: Status = Field(alias="streamingStatus")
    transaction_id: str = Field(alias="transactionId", pattern=_TXN)
    call_id: str | None = Field(default=None, alias="callId", max_length=256)
    voice_connector_id: str | None = Field(default=None, alias="voiceConnectorId", max_length=128)
    direction: str | None = Field(default=None, max_length=32)
    stream_arn: str | None = Field(default=None, alias="streamArn", max_length=1024, pattern=_ARN)
    start_fragment_number: str | None = Field(
        default=None, alias="startFragmentNumber", pattern=_FRAGMENT
    )
    current_fragment_number: str | None = Field(
        default=None, alias="currentFragmentNumber", pattern=_FRAGMENT
    )
    start_time: datetime | None = Field(default=None, alias="startTime")
    end_time: datetime | None = Field(default=None, alias="endTime")
    fail_time: datetime | None = Field(default=None, alias="failTime")
    failure_reason: str | None = Field(default=None, alias="failureReason", max_length=1024)
    is_caller: bool | None = Field(default=None, alias="isCaller")
    media_type: str | None = Field(default=None, alias="mediaType", max_length=64)
    siprec_metadata: str | None = Field(
        default=None, alias="siprecMetadata", max_length=MAX_METADATA_CHARS
    )
    invite_headers: dict[str, str] | None = Field(default=None, alias="inviteHeaders")
    update_headers: dict[str, str] | None = Field(default=None, alias="updateHeaders")
    sdp: SdpInfo | None = None

    @field_validator("start_time", "end_time", "fail_time")
    @classmethod
    def _in_utc_range(cls, value: datetime | None) -> datetime | None:
        return _utc_representable(value)

    @field_validator("invite_headers", "update_headers")
    @classmethod
    def _bounded_headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if len(value) > MAX_HEADERS:
            raise ValueError(f"more than {MAX_HEADERS} headers")
        for name, text in value.items():
            if not name or len(name) > MAX_HEADER_NAME or len(text) > MAX_HEADER_VALUE:
                raise ValueError("header name or value out of bounds")
        return value


class StreamingStatusEvent(BaseModel):
    """The EventBridge envelope: `id` is the idempotency key, `time` orders metadata updates."""

    model_config = _CFG

    id: str = Field(min_length=1, max_length=128)
    detail_type: Literal["Chime VoiceConnector Streaming Status"] = Field(alias="detail-type")
    source: str = Field(default="aws.chime", max_length=128)
    account: str | None = Field(default=None, max_length=32)
    time: datetime
    region: str | None = Field(default=None, max_length=32)
    detail: StreamingStatusDetail

    @field_validator("time")
    @classmethod
    def _in_utc_range(cls, value: datetime) -> datetime:
        _utc_representable(value)
        return value

    @property
    def status(self) -> Status:
        """The streaming status (STARTED / UPDATED / ENDED / FAILED)."""
        return self.detail.streaming_status

    @property
    def transaction_id(self) -> str:
        """The call's transaction id (the correlation id of everything downstream)."""
        return self.detail.transaction_id


def _utc_representable(value: datetime | None) -> datetime | None:
    """Refuse a time whose UTC form is outside datetime's years 1-9999 ("9999-12-31T23:59-23:59"
    is valid ISO-8601, but iso() could not write it)."""
    if value is not None and value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("time out of range once in UTC") from None
    return value


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with milliseconds and `Z`: sortable as text, one form for every source."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_event(raw: Any) -> StreamingStatusEvent:
    """Validate one EventBridge event; EventError with a one-line reason otherwise."""
    if not isinstance(raw, Mapping):
        raise EventError(f"streaming status event must be an object, got {type(raw).__name__}")
    try:
        return StreamingStatusEvent.model_validate(raw)
    except ValidationError as exc:
        raise EventError(describe(exc)) from None


def parse_events(raw: Any) -> list[StreamingStatusEvent]:
    """One EventBridge event, or an SQS batch (`Records`/`records`) whose bodies are events."""
    if isinstance(raw, Mapping) and "detail" not in raw:
        records = raw.get("Records", raw.get("records"))
        if isinstance(records, list):
            if len(records) > MAX_RECORDS:
                raise EventError(f"SQS batch has {len(records)} records (max {MAX_RECORDS})")
            return [parse_event(_sqs_body(r, i)) for i, r in enumerate(records)]
    return [parse_event(raw)]


def _sqs_body(record: Any, index: int) -> Any:
    body = record.get("body") if isinstance(record, Mapping) else None
    if not isinstance(body, str):
        raise EventError(f"SQS record {index} has no string body")
    if len(body) > MAX_SQS_BODY:
        raise EventError(f"SQS record {index} body is {len(body)} characters (max {MAX_SQS_BODY})")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise EventError(f"SQS record {index} body is not JSON (at char {exc.pos})") from None


def describe(exc: ValidationError) -> str:
    """A one-line summary of a validation error that never echoes the input values."""
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0] if errors else {"loc": (), "type": "invalid"}
    loc = ".".join(_loc_part(p) for p in first["loc"]) or "(root)"
    kind = first["type"]
    return (
        f"not a valid Chime streaming status event: {len(errors)} problem(s), first: {loc} ({kind})"
    )


def _loc_part(part: str | int) -> str:
    """A location step as shown: field names and indexes are ours, but a dict key (a SIP
    header name) is input, and may be long or hold newlines: shown only as `<key>`."""
    text = str(part)
    return text if _FIELD_NAME.fullmatch(text) else "<key>"
