"""Shared test fixtures: where the repository and the read-only shared data are."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# make test stays deterministic and load-proof: the same examples every run, no per-example
# deadline (a busy 2-core CI machine must not turn a slow example into a failure)
settings.register_profile("project", derandomize=True, deadline=None, database=None)
settings.load_profile("project")

REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the repository (read-only; CI lays a copy there too).
SHARED = REPO_ROOT.parent / "shared"
SIPREC_CORPUS = SHARED / "siprec-corpus"
KVS_SAMPLES = SHARED / "kvs-samples"
CHIME_EVENTS = SHARED / "chime-events"


def pytest_sessionstart(session: pytest.Session) -> None:
    """One clear line instead of a hundred failures when the sample data is not there."""
    if not all(d.is_dir() for d in (SIPREC_CORPUS, KVS_SAMPLES, CHIME_EVENTS)):
        pytest.exit(
            f"the tests read the project's sample data from {SHARED} (siprec-corpus/, "
            "kvs-samples/, chime-events/): put that folder beside the checkout",
            returncode=4,
        )


@pytest.fixture(autouse=True)
def _temporary_files_stay_in_the_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spools made without a folder go to the system temp dir; a test that stops early (a
    refused hostile stream) leaves them behind: 560 MB per run in /tmp before this. Here they go
    to the test's own tmp_path, which pytest deletes when the test passes."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    assert SHARED.is_dir(), f"shared data not found at {SHARED}"
    return SHARED
