"""The simulator: media checked with ffprobe/ffmpeg, events against the real Chime events' shape."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lxml import etree

from siprec_recorder.cli import main
from siprec_recorder.simulate import SimulatedCall, SimulatedLeg, simulate_call
from tests.conftest import CHIME_EVENTS

NS = {"r": "urn:ietf:params:xml:ns:recording:1"}
REAL_STARTED = json.loads((CHIME_EVENTS / "pstn-streaming-started.json").read_text())
REAL_ENDED = json.loads((CHIME_EVENTS / "pstn-streaming-ended.json").read_text())


def _ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out)["streams"][0])


def _ffmpeg_pcm(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "quiet", "-i", str(path), "-f", "s16le", "-acodec", "pcm_s16le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2")


def _own_mkv(leg: SimulatedLeg, tmp_path: Path) -> Path:
    path = tmp_path / f"{leg.label}.mkv"
    path.write_bytes(b"".join(data for _, data in leg.own_fragments))
    return path


@pytest.fixture(scope="module")
def full_call() -> SimulatedCall:
    return simulate_call(duration_s=12, seed=11, gaps=True, late_join_s=2.5, updated=True)


def test_media_decodes_to_the_exact_source_pcm(tmp_path: Path) -> None:
    call = simulate_call(duration_s=10, seed=5)
    for leg in call.legs:
        path = _own_mkv(leg, tmp_path)
        stream = _ffprobe(path)
        assert stream["codec_name"] == "pcm_s16le"
        assert int(stream["sample_rate"]) == 8000 and int(stream["channels"]) == 1
        decoded = _ffmpeg_pcm(path)
        assert len(decoded) == 10 * 8000
        assert np.array_equal(decoded, leg.pcm)


def test_gaps_are_missing_media_and_zeros_in_the_source(
    full_call: SimulatedCall, tmp_path: Path
) -> None:
    for leg in full_call.legs:
        [(g0, g1)] = leg.gaps_ms
        a, b = (g0 - leg.start_ms) * 8, (g1 - leg.start_ms) * 8
        assert not leg.pcm[a:b].any()
        decoded = _ffmpeg_pcm(_own_mkv(leg, tmp_path))  # ffmpeg joins across the gap
        assert len(decoded) == len(leg.pcm) - (b - a)
        assert np.array_equal(decoded, np.concatenate([leg.pcm[:a], leg.pcm[b:]]))
        producer = [i.producer_ms for i, _ in leg.own_fragments]
        assert not any(g0 <= p < g1 for p in producer)


def test_late_join(full_call: SimulatedCall) -> None:
    customer, agent = full_call.legs
    assert agent.start_ms - customer.start_ms == 2500
    assert len(agent.pcm) == (full_call.end_ms - agent.start_ms) * 8
    assert agent.own_fragments[0][0].producer_ms == agent.start_ms
    started = [e for e in full_call.events if e["detail"]["streamingStatus"] == "STARTED"]
    assert [e["detail"]["sdp"]["mediaLabel"] for e in started] == ["1", "2"]
    assert started[1]["detail"]["startTime"].endswith(":02.500Z")


def test_events_have_the_real_chime_shape(full_call: SimulatedCall) -> None:
    arn_shape = re.compile(
        r"^arn:aws:kinesisvideo:[a-z0-9-]+:\d{12}:stream/ChimeVoiceConnector-[a-z0-9]+-"
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/\d{13}$"
    )
    assert arn_shape.match(REAL_STARTED["detail"]["streamArn"])  # the pattern fits the real one
    real_number_len = len(REAL_STARTED["detail"]["startFragmentNumber"])
    for event in full_call.events:
        assert set(event) == set(REAL_STARTED)
        assert event["detail-type"] == REAL_STARTED["detail-type"]
        assert event["source"] == "aws.chime"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
        detail = event["detail"]
        status = detail["streamingStatus"]
        if status == "STARTED":
            assert set(REAL_STARTED["detail"]) <= set(detail)
            assert {"inviteHeaders", "sdp", "siprecMetadata"} <= set(detail)
        elif status == "ENDED":
            assert set(REAL_ENDED["detail"]) <= set(detail)
            assert "mediaType" not in detail
        else:
            assert status == "UPDATED"
            assert {"updateHeaders", "siprecMetadata"} <= set(detail)
            assert not {"streamArn", "startFragmentNumber", "currentFragmentNumber"} & set(detail)
        for key in ("startTime", "endTime"):
            if key in detail:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", detail[key])
        if "streamArn" in detail:
            assert arn_shape.match(detail["streamArn"])
            assert len(detail["startFragmentNumber"]) == real_number_len
        for key in ("fromNumber", "toNumber"):
            assert detail.get(key, "+1555").startswith("+1555")  # fake numbers only
        assert detail["transactionId"] == full_call.transaction_id
    statuses = [e["detail"]["streamingStatus"] for e in full_call.events]
    assert statuses == ["STARTED", "STARTED", "UPDATED", "UPDATED", "ENDED", "ENDED"]


def test_fragment_numbers_in_events_match_the_streams(full_call: SimulatedCall) -> None:
    legs = {leg.stream_arn: leg for leg in full_call.legs}
    for event in full_call.events:
        detail = event["detail"]
        if detail["streamingStatus"] == "STARTED":
            leg = legs[detail["streamArn"]]
            assert detail["startFragmentNumber"] == leg.fragments[0][0].number
        if detail["streamingStatus"] == "ENDED":
            leg = legs[detail["streamArn"]]
            assert detail["currentFragmentNumber"] == leg.fragments[-1][0].number
            assert detail["isCaller"] is (leg.label == "1")


def test_siprec_metadata_labels_and_participants(full_call: SimulatedCall) -> None:
    started = [e["detail"] for e in full_call.events if e["detail"]["streamingStatus"] == "STARTED"]
    for detail in started:
        root = etree.fromstring(detail["siprecMetadata"].encode())
        assert root.tag == "{urn:ietf:params:xml:ns:recording:1}recording"
        assert len(root.findall("r:participant", NS)) == 2
        labels = {
            s.get("stream_id"): s.findtext("r:label", namespaces=NS)
            for s in root.findall("r:stream", NS)
        }
        assert sorted(labels.values()) == ["1", "2"]
        leg = next(x for x in full_call.legs if x.label == detail["sdp"]["mediaLabel"])
        assoc = root.find(f"r:participantstreamassoc[@participant_id='{leg.participant_id}']", NS)
        assert assoc is not None
        assert labels[assoc.findtext("r:send", namespaces=NS)] == leg.label
        assert detail["inviteHeaders"]["x-inin-cnv"] == full_call.conversation_id
    updated = next(
        e["detail"] for e in full_call.events if e["detail"]["streamingStatus"] == "UPDATED"
    )
    root = etree.fromstring(updated["siprecMetadata"].encode())
    assert len(root.findall("r:participant", NS)) == 3  # the transfer added a second agent
    assert len(root.findall("r:participantsessionassoc/r:disassociate-time", NS)) == 1


def test_reused_stream_carries_other_calls(small_call: SimulatedCall) -> None:
    for leg in small_call.legs:
        own = {i.number for i, _ in leg.own_fragments}
        others = [(i, d) for i, d in leg.fragments if i.number not in own]
        assert others, "a reused stream has other calls' fragments"
        txn = small_call.transaction_id.encode()
        assert all(txn in d for _, d in leg.own_fragments)
        assert not any(txn in d for _, d in others)
        before = [i for i, _ in others if i.producer_ms < leg.start_ms]
        after = [i for i, _ in others if i.producer_ms >= leg.end_ms]
        assert before and after and len(before) + len(after) == len(others)
        assert leg.start_ms - before[-1].producer_ms - before[-1].duration_ms <= 5000
        assert after[0].producer_ms - leg.end_ms <= 5000
        numbers = [int(i.number) for i, _ in leg.fragments]
        assert numbers == sorted(numbers)


def test_missing_leg() -> None:
    call = simulate_call(duration_s=6, seed=2, missing_leg=True)
    assert [leg.label for leg in call.legs] == ["1"]
    assert {e["detail"]["sdp"]["mediaLabel"] for e in call.events} == {"1"}
    root = etree.fromstring(call.events[0]["detail"]["siprecMetadata"].encode())
    assert len(root.findall("r:stream", NS)) == 2  # the metadata still promises two streams


def test_deterministic_per_seed() -> None:
    a, b, c = (simulate_call(duration_s=4, seed=s) for s in (9, 9, 10))
    assert a.events == b.events
    assert all(np.array_equal(x.pcm, y.pcm) for x, y in zip(a.legs, b.legs, strict=True))
    assert [d for _, d in a.legs[0].fragments] == [d for _, d in b.legs[0].fragments]
    assert a.transaction_id != c.transaction_id


def _pitch_hz(pcm: np.ndarray) -> float:
    """Median F0 over the 20 loudest 100 ms windows: the shortest autocorrelation lag (60..400 Hz)
    whose peak reaches 80 % of the strongest one (avoids picking a multiple of the period)."""
    x = pcm.astype(np.float64)
    win = 800
    starts = np.arange(0, len(x) - win, win)
    loud = starts[np.argsort([np.sum(x[i : i + win] ** 2) for i in starts])[-20:]]
    lo, hi = 8000 // 400, 8000 // 60
    estimates = []
    for i in loud:
        seg = x[i : i + win] - x[i : i + win].mean()
        ac = np.correlate(seg, seg, "full")[win - 1 :][lo:hi]
        peaks = [k for k in range(1, len(ac) - 1) if ac[k - 1] < ac[k] >= ac[k + 1]]
        best = max(ac[k] for k in peaks)
        estimates.append(8000 / (lo + next(k for k in peaks if ac[k] >= 0.8 * best)))
    return float(np.median(estimates))


def test_parties_sound_different_and_never_silent() -> None:
    call = simulate_call(duration_s=30, seed=4)
    customer, agent = call.legs
    assert _pitch_hz(customer.pcm) < 150 < _pitch_hz(agent.pcm)
    for leg in call.legs:
        assert np.mean(leg.pcm == 0) < 0.05  # a noise floor, not digital silence
        assert np.sqrt(np.mean(leg.pcm.astype(np.float64) ** 2)) > 300


def test_cli_writes_events_media_and_call_json(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), "--duration", "6", "--seed", "2"]) == 0
    manifest = json.loads((out / "call.json").read_text())
    events = sorted((out / "events").iterdir())
    assert [p.name for p in events] == [
        "01-started-leg1.json",
        "02-started-leg2.json",
        "03-ended-leg1.json",
        "04-ended-leg2.json",
    ]
    assert manifest["events"] == [f"events/{p.name}" for p in events]
    for leg in manifest["legs"]:
        media = out / leg["media_file"]
        assert media.name == leg["stream_arn"].split("/")[1] + ".mkv"
        assert _ffprobe(media)["codec_name"] == "pcm_s16le"
        assert len(_ffmpeg_pcm(media)) == 6 * 8000
        samples = subprocess.run(
            ["soxi", "-s", str(out / leg["reference_wav"])], capture_output=True, text=True
        ).stdout
        assert int(samples) == 6 * 8000
    first = json.loads(events[0].read_text())
    assert first["detail"]["streamArn"] == manifest["legs"][0]["stream_arn"]


def test_cli_refuses_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--out", str(tmp_path), "--duration", "5", "--late-join", "9"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "late_join_s must leave" in err
    assert "ValueError" not in err  # a project error, not a Python exception's name
    assert main(["simulate", "--out", str(tmp_path), "--duration", "1"]) == 2
    assert "duration_s must be 2 s .. 4 h" in capsys.readouterr().err
