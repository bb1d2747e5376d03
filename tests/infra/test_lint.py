"""The linters `make infra-lint` runs, as tests, so `make test` fails on any finding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def test_cfn_lint_has_no_findings() -> None:
    run = subprocess.run(
        [str(BIN / "cfn-lint"), "template.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == ""


def test_sam_validate_lint_passes_without_credentials(tmp_path: Path) -> None:
    env = dict(os.environ, AWS_DEFAULT_REGION="us-east-1", SAM_CLI_TELEMETRY="0")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(var, None)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    run = subprocess.run(
        [str(BIN / "sam"), "validate", "--lint", "--template", "template.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is a valid SAM Template" in run.stdout + run.stderr
