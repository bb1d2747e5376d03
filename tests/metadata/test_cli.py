"""`siprec-recorder metadata FILE`: one JSON object, or exit 2 and one line on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from siprec_recorder.cli import main
from tests.conftest import CHIME_EVENTS, SIPREC_CORPUS
from tests.metadata.test_hostile import BILLION_LAUGHS, MARKER

KEYS = {
    "format",
    "data_mode",
    "sessions",
    "participants",
    "streams",
    "interaction_id",
    "interaction_id_source",
    "call_ids",
    "extension",
    "warnings",
}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["metadata", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_oracle_4(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(SIPREC_CORPUS / "oracle_4.txt"), "--direction", "Inbound")
    assert status == 0 and err == ""
    doc = json.loads(out)
    assert KEYS <= set(doc)
    assert doc["format"] == "draft" and doc["data_mode"] == "complete"
    assert doc["interaction_id"] == "01PEP83ES8B0FC7QD151Q2LAES00022M"
    assert doc["interaction_id_source"] == "request-uri:calluuid"
    assert [p["sends"] for p in doc["participants"]] == [
        ["1006644281", "1006644283"],
        ["1006644282", "1006644284"],
    ]
    # apkt:callingParty true for sip:Genesys: the caller of an inbound call is the customer
    assert [p["role"] for p in doc["participants"]] == ["customer", "agent"]
    assert [s["label"] for s in doc["streams"]] == [
        "1006644281",
        "1006644283",
        "1006644282",
        "1006644284",
    ]
    assert any("stray '<'" in w for w in doc["warnings"])


def test_agent_pattern_option(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(SIPREC_CORPUS / "cisco_1.txt")
    status, out, _ = run(capsys, path, "--agent-aor-pattern", r"^sip:7300@")
    assert status == 0
    roles = {p["aor"]: p["role"] for p in json.loads(out)["participants"]}
    assert roles == {"sip:7301@35.162.237.204": "unknown", "sip:7300@35.162.237.204": "agent"}


def test_event_with_headers_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    event = json.loads((CHIME_EVENTS / "pstn-streaming-started.json").read_text())
    event["detail"]["siprecMetadata"] = (SIPREC_CORPUS / "cisco_1.xml").read_text()
    event["detail"]["sdp"] = {"mediaIndex": 1, "mediaLabel": "2"}
    event["detail"]["isCaller"] = True  # stream label 2 (sip:7300) is the caller; Inbound
    (tmp_path / "event.json").write_text(json.dumps(event))
    (tmp_path / "headers.json").write_text(json.dumps({"X-Genesys-Conversation-ID": "conv-9"}))
    status, out, _ = run(
        capsys, str(tmp_path / "event.json"), "--headers", str(tmp_path / "headers.json")
    )
    assert status == 0
    doc = json.loads(out)
    assert (doc["interaction_id"], doc["interaction_id_source"]) == (
        "conv-9",
        "header:X-Genesys-Conversation-ID",
    )
    roles = {p["aor"]: p["role"] for p in doc["participants"]}
    assert roles == {"sip:7300@35.162.237.204": "customer", "sip:7301@35.162.237.204": "agent"}


@pytest.mark.parametrize(
    "content",
    [
        BILLION_LAUGHS,
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><recording>&x;{MARKER}</recording>',
        (SIPREC_CORPUS / "broadworks_1.txt").read_text(),
        f"<recording>{MARKER}",
        "x" * ((1 << 20) + 10),
    ],
    ids=["billion-laughs", "xxe", "broadworks_1", "unclosed", "oversized"],
)
def test_hostile_input_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    path = tmp_path / "input.xml"
    path.write_text(content)
    status, out, err = run(capsys, str(path))
    assert status == 2 and out == ""
    assert err.endswith("\n") and err.count("\n") == 1
    assert err.startswith("siprec-recorder metadata: ")
    assert MARKER not in err and "root:" not in err and len(err) < 300


def test_missing_file_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, str(tmp_path / "nope.xml"))
    assert status == 2 and err.count("\n") == 1


def test_bad_headers_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "h.json").write_text("[1]")
    status, _, err = run(
        capsys, str(SIPREC_CORPUS / "sems_1.xml"), "--headers", str(tmp_path / "h.json")
    )
    assert status == 2 and "headers" in err


def test_an_agent_pattern_too_large_for_re_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """'a{99999999999}' makes re.compile raise OverflowError, not re.error."""
    status, _, err = run(
        capsys, str(SIPREC_CORPUS / "sems_1.xml"), "--agent-aor-pattern", "a{99999999999}"
    )
    assert status == 2 and err.count("\n") == 1
    assert "agent aor pattern is not a valid regular expression" in err


def test_real_process_reads_stdin() -> None:
    data = (SIPREC_CORPUS / "sems_1.txt").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "siprec_recorder.cli", "metadata", "-"],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [p["sends"] for p in doc["participants"]] == [["a_leg"], ["b_leg"]]


def test_a_reader_that_stops_early_gets_no_error_message() -> None:
    """`siprec-recorder metadata X | head -1`: the reader closes the pipe; the CLI used to print
    "BrokenPipeError" and exit 2 as for bad input."""
    r, w = os.pipe()
    os.close(r)  # nobody will read: the first write fails with EPIPE
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "siprec_recorder.cli",
                "metadata",
                str(SIPREC_CORPUS / "sems_1.txt"),
            ],
            stdout=w,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(w)
    assert proc.stderr == b"" and proc.returncode == 1


def test_a_broken_pipe_that_is_not_stdout_is_still_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a closed stdout is quiet; a broken socket or child pipe inside a command is not."""
    import siprec_recorder.commands.metadata as command

    def broken(args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe (a socket)")

    monkeypatch.setattr(command, "run", broken)
    assert main(["metadata", str(SIPREC_CORPUS / "sems_1.txt")]) == 2
    assert "Broken pipe (a socket)" in capsys.readouterr().err
