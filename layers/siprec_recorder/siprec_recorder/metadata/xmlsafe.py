"""Hardened XML intake: refuse hostile documents before lxml sees them, repair what real SRCs break.

Order of defence: size cap -> encoding -> refuse any DTD/entity declaration (so billion laughs and
external entities never reach a parser) -> parse with a locked-down lxml parser (no DTD, no entity
resolution, no network, no huge trees) -> depth and element-count caps.

Invalid UTF-8 is *decoded with replacement* (U+FFFD) and reported as a warning: a display name
in Latin-1 must not cost the call its correlation. The bytes that were valid keep their values.
A document that declares a single-byte encoding (ISO-8859-1, windows-1252) is decoded with it.

Real clients send text that is not well-formed (a raw `&` in a caller name, a raw `<sip:...>` in
an Oracle request-uri). lxml's `recover=True` drops such data, so when a strict parse fails we
escape the stray characters and parse again, reporting the repair as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from siprec_recorder.errors import MetadataError

DEFAULT_MAX_BYTES = 1 << 20
MAX_DEPTH = 24
MAX_ELEMENTS = 20_000

_BOM = "\ufeff"
# Single-byte encodings an SRC may declare; anything else must be UTF-8.
_SINGLE_BYTE = {b"iso-8859-1", b"latin-1", b"latin1", b"windows-1252", b"cp1252"}
_DECLARED_ENCODING = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.-]{1,20})[\"']")
_FORBIDDEN = re.compile(r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_XML_DECL = re.compile(r"\A\s*<\?xml[^>]*\?>", re.IGNORECASE)
# One piece of well-formed-looking markup starting at a '<'.
_NAME = r"[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?"
_ATTR = r"\s+" + _NAME + r"\s*=\s*(?:\"[^\"<]*\"|'[^'<]*')"
_MARKUP = re.compile(
    r"<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|\?.*?\?>|/"
    + _NAME
    + r"\s*>|"
    + _NAME
    + r"(?:"
    + _ATTR
    + r")*\s*/?>)",
    re.DOTALL,
)
# A tag-looking token that is really a URI in angle brackets (name-addr), never an element.
_URI_TAG = re.compile(r"<(?:sips?|tel|urn|https?|mailto):", re.IGNORECASE)
_STRAY_AMP = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});)")


@dataclass(frozen=True, slots=True)
class ParsedXml:
    """The parsed root, the text it came from (after repair) and what had to be repaired."""

    root: etree._Element
    text: str
    warnings: tuple[str, ...]


def check_size(data: bytes | str, max_bytes: int) -> None:
    """Refuse an input over the cap before doing any work on it."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise MetadataError(f"metadata input is {size} bytes, over the {max_bytes}-byte cap")


def decode_text(data: bytes | str, warnings: list[str]) -> str:
    """Bytes -> str: strip a UTF-8 BOM, refuse UTF-16/32, replace invalid UTF-8 with a warning."""
    if isinstance(data, str):
        text = data[1:] if data.startswith(_BOM) else data
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates (e.g. from surrogateescape)
            warnings.append(f"unencodable character at {exc.start}: replaced with '?'")
            text = text.encode("utf-8", "replace").decode("utf-8")
        return text
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (
        b"\x00\x00\xfe\xff",
        b"\x00\x00\x00<",
        b"<\x00\x00\x00",
    ):
        raise MetadataError("metadata is UTF-16/UTF-32 encoded; only UTF-8 is accepted")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        declared = _DECLARED_ENCODING.match(data[:200])
        if declared and declared.group(1).lower() in _SINGLE_BYTE:
            return data.decode(declared.group(1).decode("ascii").lower(), "replace")
        warnings.append(
            f"invalid UTF-8 at byte {exc.start}: undecodable bytes replaced with U+FFFD"
        )
        return data.decode("utf-8", "replace")


def refuse_hostile(text: str) -> None:
    """Refuse DTDs and entity declarations outright: nothing legitimate in SIPREC uses them."""
    match = _FORBIDDEN.search(text)
    if match:
        kind = match.group(0)[2:].strip().upper()
        raise MetadataError(f"metadata contains a <!{kind} declaration; DTDs are refused")
    if "\x00" in text:
        raise MetadataError("metadata contains NUL characters")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
        encoding="utf-8",
    )


_PARSER = _parser()


_STRAY_LT = re.compile(
    r"<(?!(?:!--|!\[CDATA\[|\?|/" + _NAME + r"\s*>|" + _NAME + r"(?:" + _ATTR + r")*\s*/?>))"
    r"|<(?=(?:sips?|tel|urn|https?|mailto):)",
    re.IGNORECASE,
)


def repair(text: str) -> tuple[str, list[str]]:
    """Escape stray '<' (not starting markup) and '&' (not starting a reference) in the text.

    Two C-speed substitutions; documents with comments or CDATA (whose content may legally hold
    '<' and '&') take a token-by-token path instead.
    """
    if "<!--" in text or "<![CDATA[" in text:
        return _repair_slow(text)
    fixed, in_attrs = _escape_lt_in_attributes(text)
    fixed, lt = _STRAY_LT.subn("&lt;", fixed)
    fixed, amp = _STRAY_AMP.subn("&amp;", fixed)
    return fixed, _repair_notes(amp, lt + in_attrs)


# A start tag whose quoted attribute values may hold a raw '<' (aor="<sip:...>").
_TAG_LOOSE = re.compile(r"<" + _NAME + r"(?:\s+" + _NAME + r"\s*=\s*(?:\"[^\"]*\"|'[^']*'))+\s*/?>")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def _escape_lt_in_attributes(text: str) -> tuple[str, int]:
    """Escape '<' inside attribute values of start tags (only where there is one)."""
    count = 0

    def fix_value(match: re.Match[str]) -> str:
        nonlocal count
        count += match.group(0).count("<")
        return match.group(0).replace("<", "&lt;")

    def fix_tag(match: re.Match[str]) -> str:
        tag = match.group(0)
        return _QUOTED.sub(fix_value, tag) if "<" in tag[1:] else tag

    if "=" not in text:
        return text, 0
    return _TAG_LOOSE.sub(fix_tag, text), count


def _repair_notes(amp: int, lt: int) -> list[str]:
    notes = []
    if amp:
        notes.append(f"repaired {amp} stray '&' in the XML (kept as text)")
    if lt:
        notes.append(f"repaired {lt} stray '<' in the XML (kept as text)")
    return notes


def _repair_slow(text: str) -> tuple[str, list[str]]:
    out: list[str] = []
    lt = amp = 0
    pos = 0
    length = len(text)
    while pos < length:
        nxt = text.find("<", pos)
        if nxt < 0:
            nxt = length
        chunk, amp_n = _STRAY_AMP.subn("&amp;", text[pos:nxt])
        out.append(chunk)
        amp += amp_n
        if nxt >= length:
            break
        match = None if _URI_TAG.match(text, nxt) else _MARKUP.match(text, nxt)
        if match is None:
            out.append("&lt;")
            lt += 1
            pos = nxt + 1
            continue
        token = match.group(0)
        if not token.startswith(("<!--", "<![CDATA[", "<?")):
            token, amp_n = _STRAY_AMP.subn("&amp;", token)  # inside attribute values
            amp += amp_n
        out.append(token)
        pos = match.end()
    return "".join(out), _repair_notes(amp, lt)


def _syntax_reason(exc: etree.XMLSyntaxError) -> str:
    line, col = exc.position if exc.position else (0, 0)
    msg = str(getattr(exc, "msg", "") or "not well-formed").splitlines()[0]
    msg = re.sub(r",? line \d+, column \d+$", "", msg)[:100]
    return f"metadata XML is not well-formed at line {line}, column {col}: {msg}"


def _strict_parse(text: str) -> etree._Element:
    body = _XML_DECL.sub("", text, count=1).lstrip()
    return etree.fromstring(body.encode("utf-8"), _PARSER)


def _check_shape(root: etree._Element) -> None:
    """Depth and element-count caps, walked iteratively (no recursion on hostile input)."""
    count = 0
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise MetadataError(f"metadata XML nests deeper than {MAX_DEPTH} levels")
        if count > MAX_ELEMENTS:
            raise MetadataError(f"metadata XML has more than {MAX_ELEMENTS} elements")
        stack.extend((child, depth + 1) for child in element)


def parse_xml(text: str, warnings: list[str] | None = None) -> ParsedXml:
    """Parse decoded metadata text safely; repair stray '&'/'<' once if the strict parse fails."""
    notes: list[str] = list(warnings or ())
    refuse_hostile(text)
    if not text.strip():
        raise MetadataError("metadata XML is empty")
    try:
        root = _strict_parse(text)
    except etree.XMLSyntaxError as first:
        if "depth" in str(first).lower():
            raise MetadataError(f"metadata XML nests deeper than {MAX_DEPTH} levels") from None
        fixed, repaired = repair(text)
        if not repaired:
            raise MetadataError(_syntax_reason(first)) from None
        try:
            root = _strict_parse(fixed)
        except etree.XMLSyntaxError as second:
            raise MetadataError(_syntax_reason(second) + " (after repair)") from None
        text = fixed
        notes.extend(repaired)
    _check_shape(root)
    return ParsedXml(root=root, text=text, warnings=tuple(notes))
