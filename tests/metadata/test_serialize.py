"""The summary (CLI/manifest object) is plain JSON: it survives a dumps/loads round trip."""

from __future__ import annotations

import json

import pytest

from siprec_recorder.metadata.parse import parse_metadata
from siprec_recorder.metadata.serialize import summary
from tests.conftest import SIPREC_CORPUS

SAMPLES = sorted(p for p in SIPREC_CORPUS.glob("*.txt") if p.stem != "broadworks_1")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_summary_is_json(path) -> None:  # type: ignore[no-untyped-def]
    meta = parse_metadata(path.read_bytes())
    assert json.loads(json.dumps(summary(meta))) == summary(meta)
