"""samconfig.toml environments and docs/DEPLOY.md stay in step with template.yaml."""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.infra.tpl import template

SAMCONFIG = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
DEPLOY_MD = (REPO_ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("env", ["default", "dev", "prod"])
def test_each_environment_deploys_with_its_own_stack(env: str) -> None:
    deploy = SAMCONFIG[env]["deploy"]["parameters"]
    assert deploy["resolve_s3"] is True
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert deploy["region"] and deploy["stack_name"].startswith("siprec-recorder")
    names = {SAMCONFIG[e]["deploy"]["parameters"]["stack_name"] for e in ("default", "dev", "prod")}
    assert len(names) == 3


@pytest.mark.parametrize("env", ["default", "dev", "prod"])
def test_parameter_overrides_name_real_parameters_with_allowed_values(env: str) -> None:
    params: dict[str, Any] = template()["Parameters"]
    overrides = SAMCONFIG[env]["deploy"]["parameters"]["parameter_overrides"]
    for pair in shlex.split(overrides):
        name, value = pair.split("=", 1)
        assert name in params, f"{env}: unknown parameter {name}"
        spec = params[name]
        if "AllowedValues" in spec:
            assert value in [str(v) for v in spec["AllowedValues"]], f"{env}: {pair}"
        if spec["Type"] == "Number":
            assert float(spec.get("MinValue", "-inf")) <= float(value), f"{env}: {pair}"
            assert float(value) <= float(spec.get("MaxValue", "inf")), f"{env}: {pair}"


def test_deploy_doc_lists_every_parameter_and_the_commands() -> None:
    for name in template()["Parameters"]:
        assert f"| `{name}` |" in DEPLOY_MD, f"{name} is not documented"
    for text in (
        "sam build",
        "--use-container",
        "sam deploy --config-env prod",
        "sam local invoke StreamStatusFunction -e events/stream-status-started.json",
        "COMPLIANCE",
        "DataRetentionInHours",
        "NotificationTarget=EventBridge",
        "x-inin-cnv",
    ):
        assert text in DEPLOY_MD, text


def test_deploy_doc_only_invokes_sample_events_that_exist() -> None:
    for word in DEPLOY_MD.split():
        if word.startswith("events/") and word.endswith(".json"):
            assert (REPO_ROOT / word).is_file(), word
