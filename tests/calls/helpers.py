"""Event builders, a Lambda-like context and a by-path handler loader for the calls tests."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conftest import CHIME_EVENTS, REPO_ROOT, SIPREC_CORPUS

TXN = "ec97a8ff-3f83-4de2-8d73-d988070f6af4"
ARN_A = (
    "arn:aws:kinesisvideo:us-east-1:112233445566:stream/"
    "ChimeVoiceConnector-bfggco08s5m5esgxfskzks-94709a8e-c2cc-4f92-9ab1-af74c54c041a/1680731924044"
)
ARN_B = (
    "arn:aws:kinesisvideo:us-east-1:112233445566:stream/"
    "ChimeVoiceConnector-bfggco08s5m5esgxfskzks-2d439d05-cb93-49b6-ba14-f4ac55017d57/1680731931114"
)
FROM_NUMBER = "+18155551212"  # as in the published sample events
TO_NUMBER = "+19285557777"
CALLER_NAME = "Alice Liddell"
INVITE_HEADERS = {
    "From": f'"{CALLER_NAME}" <sip:{FROM_NUMBER}@203.0.113.10>;tag=abc',
    "To": f"<sip:{TO_NUMBER}@203.0.113.20>",
    "Call-ID": "e9fffff2020a598b86962867715db0cf",
}


def sample(name: str) -> dict[str, Any]:
    """A published sample event from the shared data."""
    data: dict[str, Any] = json.loads((CHIME_EVENTS / name).read_text())
    return data


def corpus_xml(name: str) -> str:
    """A real SIPREC metadata body."""
    return (SIPREC_CORPUS / f"{name}.xml").read_text()


def event(
    status: str,
    *,
    arn: str | None = None,
    label: str | None = None,
    index: int | None = None,
    xml: str | None = None,
    time: str = "2023-04-05T22:14:02Z",
    event_id: str | None = None,
    txn: str = TXN,
    **detail: Any,
) -> dict[str, Any]:
    """An EventBridge streaming status event shaped like the published samples."""
    base = sample("pstn-streaming-started.json")
    ev = copy.deepcopy(base)
    ev["id"] = event_id or str(uuid.uuid4())
    ev["time"] = time
    d = ev["detail"]
    d["transactionId"] = txn
    d["streamingStatus"] = status
    for key in ("streamArn", "startFragmentNumber", "mediaType", "isCaller"):
        d.pop(key, None)
    if status in ("STARTED", "ENDED", "FAILED") and arn is not None:
        d["streamArn"] = arn
        d["startFragmentNumber"] = "91343852333181437344442219794598596340754947404"
    if status == "STARTED":
        d["mediaType"] = "audio/L16"
        d["inviteHeaders"] = dict(INVITE_HEADERS)
    if status == "ENDED":
        d["endTime"] = "2023-04-05T22:14:17.788Z"
        d["currentFragmentNumber"] = "91343852333181432457054944695917274706600548493"
    if status == "FAILED":
        d["failTime"] = "2023-04-05T22:14:10.000Z"
        d["failureReason"] = "Internal Error"
    if label is not None or index is not None:
        d["sdp"] = {"mediaIndex": index, "mediaLabel": label}
    if xml is not None:
        d["siprecMetadata"] = xml
    d.update(detail)
    return ev


class Context:
    """What the Lambda runtime passes and Powertools reads."""

    function_name = "stream-status-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:stream-status-test"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_function(name: str) -> ModuleType:
    """Load functions/<name>/app.py by path, as the Lambda runtime does (fresh each call)."""
    path = Path(REPO_ROOT) / "functions" / name / "app.py"
    mod_name = f"calls_test_{name}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module
