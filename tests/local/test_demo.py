"""`demo --out DIR` replaces only what an earlier demo wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from siprec_recorder.cli import main
from siprec_recorder.local.demo import MARKER, prepare_out


def test_a_folder_the_demo_did_not_write_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "important.txt").write_text("keep me")
    assert main(["demo", "--out", str(tmp_path), "--duration", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a demo output" in err and "nothing deleted" in err and "\n" not in err
    assert (tmp_path / "important.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["important.txt"]


def test_an_earlier_demo_output_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    prepare_out(out)
    (out / "recordings").mkdir()
    (out / "recordings" / "old.wav").write_bytes(b"RIFF")
    prepare_out(out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER]


def test_a_new_or_empty_folder_is_used(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_out(empty)
    prepare_out(tmp_path / "new" / "deeper")
    assert (empty / MARKER).is_file() and (tmp_path / "new" / "deeper" / MARKER).is_file()
