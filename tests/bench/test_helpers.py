"""Template reading, cost arithmetic, importtime parsing and WAV comparison, by hand."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench._calls import wav_equal
from bench._cost import ARM_PRICE_PER_GB_S, PRICE_PER_REQUEST, cost_rows, vcpu_share
from bench.coldstart import template_functions, top_imports


def test_template_functions_read_at_parameter_defaults() -> None:
    fns = template_functions()
    assert set(fns) == {"stream_status", "recorder", "sweeper"}
    # template.yaml: RecorderMemorySize Default 1024; Globals MemorySize 256
    assert fns["recorder"]["memory_mb"] == 1024
    assert fns["stream_status"]["memory_mb"] == 256
    env = fns["stream_status"]["env"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "siprec-recorder"  # ServiceName default
    assert env["RECORDER_TIME_BUDGET_SECONDS"] == "780"
    assert env["OBJECT_LOCK_DAYS"] == "0"  # ObjectLockOn is false at the defaults
    assert env["OBJECT_LOCK_MODE"] == ""
    assert env["SSE_KMS_KEY_ID"] == "local-RecordingsKey"  # EncryptionMode defaults to KMS
    assert env["CALLS_TABLE"] == "local-CallsTable"  # a resource: a placeholder name


def test_remote_stack_reads_the_endpoints_the_parent_set() -> None:
    from bench._remote import RemoteStack

    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5001",
        "AWS_ENDPOINT_URL_KINESIS_VIDEO": "http://127.0.0.1:5002",
        "RECORDING_QUEUE_URL": "http://127.0.0.1:5001/123456789012/jobs",
        "RECORDINGS_BUCKET": "bucket-x",
        "CALLS_TABLE": "table-x",
        "HOME": "/nowhere",
    }
    remote = RemoteStack(env)
    assert remote.queue_url == env["RECORDING_QUEUE_URL"]
    assert remote.settings.bucket == "bucket-x" and remote.settings.calls_table == "table-x"
    assert "HOME" not in remote.env and remote.env["CALLS_TABLE"] == "table-x"
    assert (
        remote.client("kinesis-video-archived-media").meta.endpoint_url
        == env["AWS_ENDPOINT_URL_KINESIS_VIDEO"]
    )
    assert remote.client("s3").meta.endpoint_url == env["AWS_ENDPOINT_URL"]


def test_vcpu_share_and_cost_by_hand() -> None:
    assert vcpu_share(1769) == 1.0 and vcpu_share(4096) == 1.0
    assert vcpu_share(1024) == pytest.approx(1024 / 1769)
    per_hour = {
        "stream_status_cpu_s": 0.0,
        "stream_status_invokes": 1000.0,
        "recorder_cpu_s": 30 * 1024 / 1769,  # CPU s at a share of 1024/1769 -> 30 s billed
        "recorder_invokes": 0.0,
    }
    rows = cost_rows(per_hour, {"stream_status": 256, "recorder": 1024})
    recorder = rows[1]
    assert recorder[5] == "30.0" and recorder[6] == "30.0"  # 30 s billed at 1 GB
    usd_ss = 1000 * 1000 * PRICE_PER_REQUEST  # 1000 requests per call-hour, 1000 call-hours
    usd_rec = 1000 * 30.0 * ARM_PRICE_PER_GB_S
    assert float(rows[0][7]) == pytest.approx(usd_ss, abs=0.005)
    assert float(rows[1][7]) == pytest.approx(usd_rec, abs=0.005)


def test_top_imports_sums_top_level_third_party_packages() -> None:
    text = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |   numpy.core",
            "import time:       500 |       2500 | numpy",
            "import time:        50 |       1200 | lxml.etree",
            "import time:        10 |        900 | json",
            "import time:        20 |        300 | lxml",
        ]
    )
    assert top_imports(text) == [("numpy", 2.5), ("lxml", 1.5)]


def test_wav_equal_against_sox_written_audio(tmp_path: Path) -> None:
    a = tmp_path / "a.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-b", "16", "-c", "1", str(a), "synth", "1.5", "sine", "440"],
        check=True,
    )
    data, rate = sf.read(str(a), dtype="int16")
    b, c = tmp_path / "b.wav", tmp_path / "c.wav"
    sf.write(str(b), data, rate, subtype="PCM_16")  # another writer, same samples
    changed = data.copy()
    changed[-1] ^= 1
    sf.write(str(c), changed, rate, subtype="PCM_16")
    assert rate == 8000 and len(data) == 12000
    assert wav_equal(a, b)
    assert not wav_equal(a, c)  # one LSB in the last sample
    shorter = tmp_path / "d.wav"
    sf.write(str(shorter), np.asarray(data[:-1]), rate, subtype="PCM_16")
    assert not wav_equal(a, shorter)
