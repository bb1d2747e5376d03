"""Small, dialect-neutral helpers over lxml elements: local names, trimmed text, extension data.

Kept apart from the walker in `siprec.py` so each stays short; nothing here raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree


def split_tag(tag: object) -> tuple[str, str]:
    """(namespace, local name) of an lxml tag; ('', '') for comments and the like."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def local(element: etree._Element) -> str:
    return split_tag(element.tag)[1].lower()


def text_of(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None


def short(value: str, limit: int = 48) -> str:
    """A bounded rendering of an id for warnings (never a whole input)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def attr(element: etree._Element, *names: str) -> str | None:
    for name in names:
        value = element.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


@dataclass
class Extension:
    values: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, value: str, namespace: str) -> None:
        """Store one flattened value; a repeated key with another value gets a #n suffix."""
        if self.values.get(key, value) == value:
            self.values[key] = value
            self.namespaces[key] = namespace
            return
        n = 2
        while f"{key}#{n}" in self.values and self.values[f"{key}#{n}"] != value:
            n += 1
        self.values[f"{key}#{n}"] = value
        self.namespaces[f"{key}#{n}"] = namespace

    def flatten(self, element: etree._Element, hint: str | None = None) -> None:
        """Leaves become local-name -> text; `<x label="L"><value>` becomes `x:L`."""
        ns, name = split_tag(element.tag)
        if not name:
            return
        label = element.get("label")
        key = f"{name}:{label}" if label else name
        if len(element) == 0:
            value = text_of(element)
            if value is not None:
                self.add(hint if hint and name.lower() == "value" else key, value, ns)
            return
        for child in element:
            self.flatten(child, key if label else hint)


def clean_name(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value or None


def stream_ref(element: etree._Element) -> str | None:
    """The stream id of a `<send>`/`<recv>`: its text, or BroadWorks' `<id>` child."""
    value = text_of(element)
    if value is not None:
        return value
    for child in element:
        if local(child) == "id":
            return text_of(child)
    return None
