"""Stored snapshots: to_dict -> JSON -> metadata_from_dict gives the same model back."""

from __future__ import annotations

import json

import pytest

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.parse import parse_metadata
from siprec_recorder.metadata.serialize import metadata_from_dict, summary
from tests.conftest import SIPREC_CORPUS

SAMPLES = sorted(p for p in SIPREC_CORPUS.glob("*.txt") if p.stem != "broadworks_1")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_round_trip(path) -> None:  # type: ignore[no-untyped-def]
    meta = parse_metadata(path.read_bytes())
    again = metadata_from_dict(json.loads(json.dumps(meta.to_dict())))
    assert again == meta
    assert hash(again) == hash(meta)
    assert json.loads(json.dumps(summary(again))) == summary(meta)


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"format": "x", "data_mode": "complete"},
        {"format": "draft", "data_mode": "complete", "participants": [{"id": "p", "sends": "1"}]},
    ],
)
def test_broken_stored_metadata(broken: dict[str, object]) -> None:
    with pytest.raises(MetadataError):
        metadata_from_dict(broken)
