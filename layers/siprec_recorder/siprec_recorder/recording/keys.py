"""Object keys of a recording: one folder per call, dated by the call's start (UTC).

`<prefix>YYYY/MM/DD/<interaction id, else transaction id>/<transaction id>/` holds
`<role>-<label>.<ext>` per party, `stereo.<ext>`, `<id>.vcon.json`, `report.png`,
`manifest.json`, `manifest.json.sig` and `quarantine/<stream name>/<label>.mkv` for raw media.
A Genesys conversation can be recorded in several SIPREC sessions (a transfer, a consult, a
callback), each its own Chime transaction with the same interaction id: each gets its own
folder under the conversation's, so no call overwrites another's objects.
Every variable part is reduced to a safe key segment, so no input can climb out of the folder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from siprec_recorder.errors import StorageError
from siprec_recorder.recording.tags import could_be_personal

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_SEGMENT = 128

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"
REPORT_NAME = "report.png"


def safe_segment(value: str, *, limit: int = MAX_SEGMENT) -> str:
    """A key segment of letters, digits, `.`, `_`, `-`; never empty, `.` or `..`.

    Unsafe runs become `_`; when nothing usable is left (or the value was cut), a short hash of
    the original keeps distinct inputs distinct.
    """
    cleaned = _UNSAFE.sub("_", value).strip("._-")
    if cleaned == value and 0 < len(value) <= limit:
        return value
    tag = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    head = cleaned[: limit - 13]
    return f"{head}-{tag}" if head else f"x-{tag}"


def stream_name(stream_arn: str | None) -> str:
    """The KVS stream name inside an ARN (`...:stream/<name>/<created>`), as a key segment."""
    if not stream_arn:
        return "unknown-stream"
    tail = stream_arn.split(":stream/", 1)[-1]
    return safe_segment(tail.split("/", 1)[0] or stream_arn)


@dataclass(frozen=True)
class RecordingKeys:
    """All keys of one call's folder."""

    folder: str  # ends with "/"
    call_segment: str

    def party(self, role: str, label: str, ext: str) -> str:
        """Mono file of one participant."""
        return f"{self.folder}{safe_segment(role)}-{safe_segment(label)}.{ext}"

    def stereo(self, ext: str) -> str:
        """The two-channel file (customer left, agent right)."""
        return f"{self.folder}stereo.{ext}"

    @property
    def manifest(self) -> str:
        return self.folder + MANIFEST_NAME

    @property
    def signature(self) -> str:
        return self.folder + SIGNATURE_NAME

    @property
    def report(self) -> str:
        return self.folder + REPORT_NAME

    @property
    def vcon(self) -> str:
        return f"{self.folder}{self.call_segment}.vcon.json"

    def quarantine(self, stream_arn: str | None, label: str, ext: str = "mkv") -> str:
        """Raw media of a stream that could not be decoded."""
        return f"{self.folder}quarantine/{stream_name(stream_arn)}/{safe_segment(label)}.{ext}"


def normalise_prefix(prefix: str) -> str:
    """`recordings` / `/recordings/` -> `recordings/`; each segment made safe; "" stays ""."""
    parts = [p for p in prefix.split("/") if p]
    return "".join(f"{safe_segment(p)}/" for p in parts)


def recording_keys(
    interaction_id: str | None, transaction_id: str, start_time: datetime, prefix: str
) -> RecordingKeys:
    """The folder of a call: prefix, start date (UTC), the conversation (interaction id, else
    the transaction id), then the call (transaction id)."""
    if start_time.tzinfo is None:
        raise StorageError("call start_time must be timezone-aware")
    # the folder name shows in every listing and log line: an interaction id that could be a
    # phone number (a SIP URI taken for one) gives way to the transaction id
    usable = interaction_id if interaction_id and not could_be_personal(interaction_id) else None
    if not transaction_id:
        raise StorageError("call has no transaction id")
    day = start_time.astimezone(UTC)
    segment = safe_segment(usable or transaction_id)
    folder = f"{normalise_prefix(prefix)}{day:%Y/%m/%d}/{segment}/{safe_segment(transaction_id)}/"
    return RecordingKeys(folder=folder, call_segment=segment)
