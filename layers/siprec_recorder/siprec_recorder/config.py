"""Settings from the environment: one place for every variable the template sets on the functions.

Names here are the contract between template.yaml, the handlers, the local stack and the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from siprec_recorder.errors import RecorderError

ENV_CALLS_TABLE = "CALLS_TABLE"
ENV_BUCKET = "RECORDINGS_BUCKET"
ENV_PREFIX = "RECORDINGS_PREFIX"
ENV_QUEUE_URL = "RECORDING_QUEUE_URL"
ENV_EVENT_BUS = "EVENT_BUS_NAME"
ENV_EVENT_SOURCE = "EVENT_SOURCE"
ENV_FORMAT = "OUTPUT_FORMAT"
ENV_SSE_KMS_KEY = "SSE_KMS_KEY_ID"
ENV_SIGNING_KEY = "SIGNING_KEY_ID"
ENV_OBJECT_LOCK_MODE = "OBJECT_LOCK_MODE"
ENV_OBJECT_LOCK_DAYS = "OBJECT_LOCK_DAYS"
ENV_REPORT = "REPORT_ENABLED"
ENV_AGENT_AOR_PATTERN = "AGENT_AOR_PATTERN"
ENV_TIME_BUDGET = "RECORDER_TIME_BUDGET_SECONDS"
ENV_ENDED_TIMEOUT = "SWEEP_ENDED_TIMEOUT_MINUTES"
ENV_STREAM_GRACE = "SWEEP_STREAM_GRACE_MINUTES"
ENV_CALL_TTL_DAYS = "CALL_TTL_DAYS"
ENV_MAX_RECEIVES = "RECORDER_MAX_RECEIVES"
MAX_RECEIVES = 5  # the template's default; AWS advises at least 5 for SQS event sources
ENV_DECODER_FAST = "SIPREC_DECODER_FAST"  # "0": the decoder's general path only (escape hatch)


@dataclass(frozen=True)
class Settings:
    """Everything a function needs to know about its deployment."""

    calls_table: str = "siprec-calls"
    bucket: str = "siprec-recordings"
    prefix: str = "recordings/"
    queue_url: str = ""
    event_bus: str = "default"
    event_source: str = "siprec-recorder"
    output_format: str = "wav"
    sse_kms_key_id: str = ""
    signing_key_id: str = ""
    object_lock_mode: str = ""  # "", GOVERNANCE or COMPLIANCE
    object_lock_days: int = 0
    report_enabled: bool = False
    agent_aor_pattern: str = ""
    time_budget_seconds: int = 780  # Lambda stops at 900 s; leave room to checkpoint
    ended_timeout_minutes: int = 240
    stream_grace_minutes: int = 5
    call_ttl_days: int = 30
    max_receives: int = MAX_RECEIVES  # the queue's maxReceiveCount: the last one fails the call
    decoder_fast: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings the template puts in the functions' environment."""
        e = os.environ if env is None else env
        d = cls()
        return cls(
            calls_table=e.get(ENV_CALLS_TABLE, d.calls_table),
            bucket=e.get(ENV_BUCKET, d.bucket),
            prefix=_prefix(e.get(ENV_PREFIX, d.prefix)),
            queue_url=e.get(ENV_QUEUE_URL, d.queue_url),
            event_bus=e.get(ENV_EVENT_BUS, d.event_bus),
            event_source=e.get(ENV_EVENT_SOURCE, d.event_source),
            output_format=e.get(ENV_FORMAT, d.output_format).lower(),
            sse_kms_key_id=e.get(ENV_SSE_KMS_KEY, d.sse_kms_key_id),
            signing_key_id=e.get(ENV_SIGNING_KEY, d.signing_key_id),
            object_lock_mode=e.get(ENV_OBJECT_LOCK_MODE, d.object_lock_mode).upper(),
            object_lock_days=_int(e, ENV_OBJECT_LOCK_DAYS, d.object_lock_days),
            report_enabled=e.get(ENV_REPORT, "false").lower() in ("1", "true", "yes"),
            agent_aor_pattern=e.get(ENV_AGENT_AOR_PATTERN, d.agent_aor_pattern),
            time_budget_seconds=_int(e, ENV_TIME_BUDGET, d.time_budget_seconds),
            ended_timeout_minutes=_int(e, ENV_ENDED_TIMEOUT, d.ended_timeout_minutes),
            stream_grace_minutes=_int(e, ENV_STREAM_GRACE, d.stream_grace_minutes),
            call_ttl_days=_int(e, ENV_CALL_TTL_DAYS, d.call_ttl_days),
            max_receives=_int(e, ENV_MAX_RECEIVES, d.max_receives),
            decoder_fast=e.get(ENV_DECODER_FAST, "1").lower() not in ("0", "false", "no"),
        )


def _prefix(value: str) -> str:
    """`recordings` -> `recordings/`. Refused unless every segment is already a safe key
    segment: keys are built from the prefix made safe (recording.keys), IAM grants the prefix
    as given, and the two must be the same string."""
    from siprec_recorder.recording.keys import normalise_prefix

    value = value.strip("/")
    value = f"{value}/" if value else ""
    if normalise_prefix(value) != value:
        raise RecorderError(
            f"{ENV_PREFIX} {value[:80]!r}: each segment must be letters, digits, '.', '_' or '-',"
            " starting and ending with a letter or digit"
        )
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole-number variable; RecorderError naming it when it is not one."""
    raw = env.get(name, "")
    if not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise RecorderError(f"{name} must be a whole number, not {raw[:40]!r}") from None
