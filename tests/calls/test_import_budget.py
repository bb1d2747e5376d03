"""The StreamStatus handler's cold import stays light (issue 7.3): checked in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

# powertools imports the bare `botocore` package (0.4 ms) for its user agent; the client is heavy
HEAVY = ("numpy", "lxml", "boto3", "botocore.session", "aws_xray_sdk")

LOAD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", "functions/stream_status/app.py")
app = importlib.util.module_from_spec(spec)
sys.modules["app"] = app
spec.loader.exec_module(app)
after_import = {m: m in sys.modules for m in HEAVY}
"""


def run(code: str) -> dict[str, dict[str, bool]]:
    script = f"HEAVY = {HEAVY!r}\n{LOAD}\n{code}"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, dict[str, bool]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_handler_import_loads_no_numpy_lxml_or_boto3() -> None:
    out = run("print(json.dumps({'after_import': after_import}))")
    assert out["after_import"] == {m: False for m in HEAVY}


def test_lxml_loads_only_when_an_event_carries_metadata() -> None:
    code = """
from siprec_recorder.calls.events import parse_event
from siprec_recorder.calls.lifecycle import apply_event
from tests.calls.helpers import ARN_A, corpus_xml, event
apply_event(None, parse_event(event("STARTED", arn=ARN_A)))
plain = {m: m in sys.modules for m in HEAVY}
call, _ = apply_event(None, parse_event(event("STARTED", arn=ARN_A, xml=corpus_xml("cisco_1"))))
assert call.metadata[0].labels == ("1", "2")
with_xml = {m: m in sys.modules for m in HEAVY}
print(json.dumps({"plain": plain, "with_xml": with_xml}))
"""
    out = run(code)
    assert out["plain"]["lxml"] is False and out["plain"]["numpy"] is False
    assert out["with_xml"]["lxml"] is True
