"""The call report PNG: sane size, levels read right, one-way visibly different from two-way."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from siprec_recorder.cli import main
from siprec_recorder.recording.report import render_report, window_levels
from tests.compliance.fixtures import GAP, make_recording

RED = np.array([214, 39, 40])  # the report's one-way colour, #d62728


def paths(root: Path) -> dict[str, Path]:
    return {"0": root / "customer-0.wav", "1": root / "agent-1.wav", "stereo": root / "stereo.wav"}


def red_pixels(png: Path) -> int:
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return int((np.abs(rgb - RED).sum(axis=2) < 40).sum())


@pytest.fixture(scope="module")
def pngs(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    out = {}
    for one_way in (False, True):
        root = tmp_path_factory.mktemp(f"oneway-{one_way}")
        manifest = make_recording(root / "rec", one_way=one_way)
        out[one_way] = root / "report.png"
        render_report(manifest, paths(root / "rec"), out[one_way])
    return out


def test_png_is_sane(pngs) -> None:
    for png in pngs.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(png) as img:
            width, height = img.size
        assert 800 <= width <= 2000 and 300 <= height <= 1500
        assert png.stat().st_size < 400_000


def test_one_way_call_is_flagged_in_red(pngs) -> None:
    two_way, one_way = red_pixels(pngs[False]), red_pixels(pngs[True])
    assert one_way > 10 * max(two_way, 1)  # banner + red frame vs the legend swatch only
    a = np.asarray(Image.open(pngs[False]).convert("RGB"))
    b = np.asarray(Image.open(pngs[True]).convert("RGB"))
    assert a.shape != b.shape or (a != b).any()


def test_levels_and_digital_zero_windows(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    make_recording(root)
    levels, zero = window_levels(root / "customer-0.wav")
    assert len(levels) == 60  # 6 s in 100 ms windows
    # the 300 ms gap written as zeros at 2.0-2.3 s, nothing else is exact zero
    assert np.flatnonzero(zero).tolist() == list(range(int(GAP[0] * 10), int(GAP[1] * 10)))
    # a 0.4 full-scale sine: RMS 0.4/sqrt(2) -> -10.97 dBFS; pauses hold +-1 LSB (-90.3 dBFS)
    assert levels[5] == pytest.approx(20 * math.log10(0.4 / math.sqrt(2)), abs=0.05)
    assert levels[12] <= -89.0


def test_report_command(tmp_path: Path, capsys) -> None:
    root = tmp_path / "rec"
    make_recording(root, one_way=True)
    out = tmp_path / "out" / "call.png"
    assert main(["report", str(root), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert red_pixels(out) > 2000
    names = sorted(p.name for p in root.iterdir())  # the recording folder is not written to
    assert names == ["agent-1.wav", "customer-0.wav", "manifest.json", "stereo.wav"]


def test_two_sessions_of_one_conversation_get_two_report_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --out the PNG is named after the interaction and the transaction: a second
    session of the same conversation no longer overwrites the first one's report."""
    import json

    monkeypatch.chdir(tmp_path)
    written = []
    for tx in ("tx-first", "tx-second"):
        root = tmp_path / tx
        manifest = make_recording(root)
        manifest["transaction_id"] = tx  # the same interaction id, another session
        (root / "manifest.json").write_text(json.dumps(manifest))
        assert main(["report", str(root)]) == 0
        written.append(capsys.readouterr().out.strip())
    interaction = manifest["interaction_id"]
    assert written == [f"{interaction}-tx-first-report.png", f"{interaction}-tx-second-report.png"]
    assert all((tmp_path / name).stat().st_size > 1000 for name in written)


def test_report_command_bad_input(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    (tmp_path / "manifest.json").write_text("[1, 2")
    assert main(["report", str(tmp_path)]) == 2


def test_partial_last_window_and_a_stereo_channel(tmp_path: Path) -> None:
    import soundfile as sf

    left = np.full(850, 16384, dtype=np.int16)  # 0.5 full scale: -6.02 dBFS
    right = np.zeros(850, dtype=np.int16)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 8000, subtype="PCM_16")
    levels, zero = window_levels(tmp_path / "s.wav", channel=0)
    assert levels.tolist() == pytest.approx([20 * math.log10(0.5)] * 2, abs=0.01)
    assert zero.tolist() == [False, False]
    levels, zero = window_levels(tmp_path / "s.wav", channel=1)
    assert zero.tolist() == [True, True] and levels.tolist() == [-90.0, -90.0]


def test_the_gap_is_drawn_as_a_band_of_its_length(pngs) -> None:
    """The fixture's customer leg has a 300 ms gap (digital zero) in 6 s: the report marks it
    with the gap colour (#ff9f1c at 60% over white) as one vertical band about 5% of the time
    axis wide; the legend's swatch is too short to count as a band."""
    rgb = np.asarray(Image.open(pngs[False]).convert("RGB")).astype(int)
    blended = np.array([255, round(0.6 * 0x9F + 0.4 * 255), round(0.6 * 0x1C + 0.4 * 255)])
    hits = np.abs(rgb - blended).sum(axis=2) < 12
    band = np.flatnonzero(hits.sum(axis=0) >= 20)  # columns with a tall run of the colour
    assert band.size > 0
    assert band[-1] - band[0] + 1 == band.size  # one contiguous band
    width = rgb.shape[1]
    assert 0.02 * width < band.size < 0.08 * width
