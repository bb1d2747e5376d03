"""Helpers for the template tests: load template.yaml with its short tags, walk policies."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from cfnlint.decode import decode_str

from tests.conftest import REPO_ROOT

TEMPLATE_PATH = REPO_ROOT / "template.yaml"
NO_VALUE = {"Ref": "AWS::NoValue"}


@cache
def template() -> dict[str, Any]:
    """template.yaml as plain dicts (short tags become Fn::/Ref mappings)."""
    tpl, matches = decode_str(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert not matches, f"template.yaml does not parse: {matches}"
    assert tpl is not None
    return _plain(tpl)


def _plain(node: Any) -> Any:
    """cfn-lint returns its own dict/str subclasses; make them plain for easy comparison."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    res: dict[str, dict[str, Any]] = template()["Resources"]
    return {k: v for k, v in res.items() if kind is None or v["Type"] == kind}


def props(logical_id: str) -> dict[str, Any]:
    return dict(template()["Resources"][logical_id].get("Properties", {}))


def branches(node: Any) -> Iterator[Any]:
    """Every concrete value a node can take: both sides of Fn::If, never AWS::NoValue."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _cond, yes, no = node["Fn::If"]
        yield from branches(yes)
        yield from branches(no)
    elif node != NO_VALUE:
        yield node


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(role_id: str) -> list[dict[str, Any]]:
    """Every statement (either side of a condition) of a role's inline policies."""
    out: list[dict[str, Any]] = []
    for policy in props(role_id).get("Policies", []):
        for stmt in policy["PolicyDocument"]["Statement"]:
            out.extend(s for s in branches(stmt) if isinstance(s, dict))
    return out


def all_iam_statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """(role, statement) over every IAM identity policy in the template."""
    for rid in resources("AWS::IAM::Role"):
        for stmt in role_statements(rid):
            yield rid, stmt
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for rid, res in resources(kind).items():
            for stmt in res["Properties"]["PolicyDocument"]["Statement"]:
                for s in branches(stmt):
                    yield rid, s


_SUB = re.compile(r"\$\{([^}!]+)\}")


def resolve(value: Any, names: Mapping[str, str]) -> str:
    """Render a Fn::Sub / Fn::GetAtt / Ref resource with made-up values for names."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:
        text = value["Fn::Sub"]
        assert isinstance(text, str), "only the one-argument Fn::Sub is used for ARNs"
        return _SUB.sub(lambda m: names[m.group(1)], text)
    if "Fn::GetAtt" in value:
        att = value["Fn::GetAtt"]
        return names[".".join(att) if isinstance(att, list) else att]
    if "Ref" in value:
        return names[value["Ref"]]
    raise AssertionError(f"unexpected resource form {value}")


def allows(
    role_id: str, action: str, arn: str, names: Mapping[str, str], conditions: set[str]
) -> bool:
    """A small evaluator: does any Allow statement of the role match action and arn?

    Statements inside Fn::If are kept only when their condition is in `conditions`.
    """
    for policy in props(role_id).get("Policies", []):
        for stmt in policy["PolicyDocument"]["Statement"]:
            if isinstance(stmt, dict) and set(stmt) == {"Fn::If"}:
                cond, yes, no = stmt["Fn::If"]
                stmt = yes if cond in conditions else no
            if stmt == NO_VALUE or stmt.get("Effect") != "Allow":
                continue
            if not any(fnmatch.fnmatchcase(action, a) for a in as_list(stmt["Action"])):
                continue
            for res in as_list(stmt["Resource"]):
                if fnmatch.fnmatchcase(arn, resolve(res, names)):
                    return True
    return False
