"""Property tests: a sample re-serialised with other prefixes, whitespace, attribute and element
order gives the same model; arbitrary mutations never crash the parser (MetadataError only)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.correlate import expected_labels
from siprec_recorder.metadata.interaction import call_ids, find_interaction_id
from siprec_recorder.metadata.parse import parse_metadata
from tests.conftest import SIPREC_CORPUS

# Well-formed samples only: the test side parses them with plain lxml to rewrite them.
WELL_FORMED = sorted(
    p.stem
    for p in SIPREC_CORPUS.glob("*.xml")
    if p.stem not in ("broadworks_1", "cisco_3", "oracle_4", "oracle_5")
)
XML = {name: (SIPREC_CORPUS / f"{name}.xml").read_bytes() for name in WELL_FORMED}
SPACES = ["", " ", "\n", "\r\n\t", "\n    ", "\t\t"]
XML_NS = "http://www.w3.org/XML/1998/namespace"


def comparable(data: bytes | str) -> dict[str, Any]:
    d = parse_metadata(data).to_dict()
    d.pop("raw_xml")
    d["warnings"] = sorted(d["warnings"])
    return d


def rebuild(element: etree._Element, rnd: random.Random, prefixes: dict[str, str | None]) -> Any:
    """A copy of `element` with new prefixes, shuffled attributes and new whitespace."""
    tag = etree.QName(element)
    ns = tag.namespace
    nsmap = {}
    if ns is not None:
        if ns not in prefixes:
            prefixes[ns] = rnd.choice([None, f"n{rnd.randrange(99)}", "tns", "rec"])
        nsmap = {prefixes[ns]: ns}
    new = etree.Element(element.tag, nsmap=nsmap)  # type: ignore[arg-type]
    attrs = list(element.attrib.items())
    rnd.shuffle(attrs)
    for key, value in attrs:
        new.set(key, value)
    if len(element) == 0:
        text = element.text or ""
        new.text = text.strip() and rnd.choice(SPACES[:3]) + text.strip() + rnd.choice(SPACES[:3])
        return new
    for child in element:
        if isinstance(child.tag, str):
            copy = rebuild(child, rnd, dict(prefixes))
            copy.tail = rnd.choice(SPACES)
            new.append(copy)
    new.text = rnd.choice(SPACES)
    return new


def interleave(root: etree._Element, rnd: random.Random) -> None:
    """Reorder top-level children: any interleaving that keeps each kind's own order."""
    groups: dict[str, list[etree._Element]] = {}
    for child in list(root):
        groups.setdefault(etree.QName(child).localname, []).append(child)
        root.remove(child)
    while groups:
        kind = rnd.choice(sorted(groups))
        root.append(groups[kind].pop(0))
        if not groups[kind]:
            del groups[kind]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(WELL_FORMED), rnd=st.randoms(use_true_random=False))
def test_reserialised_sample_gives_the_same_model(name: str, rnd: random.Random) -> None:
    original = XML[name]
    root = etree.fromstring(original)
    copy = rebuild(root, rnd, {})
    interleave(copy, rnd)
    text = etree.tostring(copy, xml_declaration=rnd.random() < 0.5, encoding="UTF-8")
    assert comparable(text) == comparable(original)


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(p.stem for p in SIPREC_CORPUS.glob("*.txt"))),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.integers(0, 40),
            st.sampled_from(["<", ">", "&", '"', "\x00", "\xff", "--", "\n", "<!--", "]]>"]),
        ),
        max_size=6,
    ),
)
def test_mutations_never_crash(name: str, edits: list[tuple[float, int, str]]) -> None:
    data = (SIPREC_CORPUS / f"{name}.txt").read_text()
    for where, cut, insert in edits:
        pos = int(where * len(data))
        data = data[:pos] + insert + data[pos + cut :]
    try:
        meta = parse_metadata(data)
    except MetadataError:
        return
    expected_labels(meta)
    call_ids(meta)
    find_interaction_id(meta)


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_random_input_never_crashes(data: bytes | str) -> None:
    try:
        parse_metadata(data)
    except MetadataError as exc:
        assert "\n" not in str(exc)
