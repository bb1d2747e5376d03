"""Hostile input at the real entry points: refused fast with one line, or recorded correctly."""

from __future__ import annotations

import copy
import time

import pytest

from siprec_recorder.errors import EventError
from siprec_recorder.local.driver import LocalPipeline
from siprec_recorder.simulate import simulate_call
from tests.pipeline.conftest import run_call

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + ']><recording xmlns="urn:ietf:params:xml:ns:recording:1">&lol9;</recording>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<recording xmlns="urn:ietf:params:xml:ns:recording:1"><x>&x;</x></recording>'
)


def _with_metadata(call, xml):
    events = copy.deepcopy(call.events)
    for e in events:
        if e["detail"].get("siprecMetadata"):
            e["detail"]["siprecMetadata"] = xml
    return events


@pytest.mark.parametrize(
    ("xml", "seed"), [(BOMB, 41), (XXE, 45)], ids=["billion-laughs", "external-entity"]
)
def test_hostile_metadata_does_not_stop_the_recording(stack, xml, seed):
    call = simulate_call(duration_s=10, seed=seed)
    started = time.monotonic()
    landed = run_call(stack, call, events=_with_metadata(call, xml))
    assert time.monotonic() - started < 30
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    m = landed.manifest
    assert m is not None
    # the streams are still recorded, and the manifest says why nobody is named
    assert sorted(p["label"] for p in m["participants"]) == sorted(leg.label for leg in call.legs)
    assert any("metadata" in w for w in m["warnings"])
    blob = str(m)
    assert "root:" not in blob and "lollol" not in blob  # nothing expanded or read


def test_ten_megabyte_metadata_is_refused_fast_with_one_line(stack):
    call = simulate_call(duration_s=4, seed=42)
    event = copy.deepcopy(call.events[0])
    event["detail"]["siprecMetadata"] = "<a>" + "x" * (10 << 20) + "</a>"
    pipeline = LocalPipeline(stack)
    started = time.monotonic()
    with pytest.raises(EventError) as err:
        pipeline.send_events([event])
    assert time.monotonic() - started < 2
    assert "\n" not in str(err.value) and "xxxx" not in str(err.value)


def test_huge_header_map_is_refused(stack):
    call = simulate_call(duration_s=4, seed=43)
    event = copy.deepcopy(call.events[0])
    event["detail"]["inviteHeaders"] = {f"X-H-{i}": "v" for i in range(50_000)}
    with pytest.raises(EventError):
        LocalPipeline(stack).send_events([event])


def test_tag_values_with_characters_s3_forbids_are_sanitised(stack):
    call = simulate_call(duration_s=10, seed=44)
    hostile = "conv<1>{2}|3\\4#5%6"
    events = copy.deepcopy(call.events)
    for e in events:
        headers = e["detail"].get("inviteHeaders")
        if headers:
            for name in list(headers):
                if name.lower() == "x-inin-cnv":
                    headers[name] = hostile
    landed = run_call(stack, call, events=events)
    assert landed.status is not None and landed.status.status.value == "RECORDED"
    s3 = stack.client("s3")
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.:/=+-@")
    for key in landed.keys:
        tags = s3.get_object_tagging(Bucket=stack.settings.bucket, Key=key)["TagSet"]
        for tag in tags:
            assert set(tag["Value"]) <= allowed, tag


def test_a_very_long_display_name_is_cut_not_a_failed_recording(tmp_path):
    """An SRC may send any length of name: the recording is still written, the manifest holds
    the name cut to its schema's 1024 characters, and no error quotes the name."""
    import json

    from siprec_recorder.cli import main
    from siprec_recorder.recording.manifest import validate_manifest
    from tests.pipeline.conftest import process_args, write_call_files

    call = simulate_call(duration_s=4, seed=51)
    events, media = write_call_files(call, tmp_path / "call")
    long_name = "A" * 2000
    for path in events:
        e = json.loads(path.read_text())
        xml = e["detail"].get("siprecMetadata")
        if xml:
            assert ">Test Agent<" in xml  # the simulator's agent name, replaced here
            e["detail"]["siprecMetadata"] = xml.replace(">Test Agent<", f">{long_name}<")
            path.write_text(json.dumps(e))
    assert main(process_args(events, media, tmp_path / "out")) == 0
    (manifest_path,) = (tmp_path / "out").rglob("manifest.json")
    manifest = json.loads(manifest_path.read_text())
    names = [p["name"] for p in manifest["participants"]]
    cut = [n for n in names if n and n.startswith("AAAA")]
    assert len(cut) == 1 and len(cut[0]) == 1024
    # a manifest that does break its schema is refused without quoting the offending value
    manifest["participants"][0]["name"] = long_name
    with pytest.raises(Exception, match="manifest invalid") as err:
        validate_manifest(manifest)
    assert "AAAA" not in str(err.value)
