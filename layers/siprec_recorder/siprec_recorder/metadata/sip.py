"""SIP message, header and SDP reading (sans-IO): just enough to find the metadata and the labels.

Header names are case-insensitive in SIP, and Chime passes them through as the SBC spelled them,
so lookups go through `HeaderMap`. Compact forms (`c`, `i`, `l`, `f`, `t`) are expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.model import SdpMedia

MAX_HEADERS = 200
_COMPACT = {"c": "Content-Type", "i": "Call-ID", "l": "Content-Length", "f": "From", "t": "To"}
_REQUEST_LINE = re.compile(r"^[A-Z][A-Z-]{1,31} \S+ SIP/2\.0\s*$")
_STATUS_LINE = re.compile(r"^SIP/2\.0 \d{3}\b")
_HEADER_LINE = re.compile(r"^([!-9;-~]+)[ \t]*:(.*)$")  # token, colon, value
_DIRECTIONS = {"sendonly", "recvonly", "sendrecv", "inactive"}


class HeaderMap(Mapping[str, str]):
    """A read-only, case-insensitive header mapping that keeps the original spelling."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for name, value in pairs:
            self._set(name, value)

    def _set(self, name: str, value: str) -> None:
        key = name.strip().lower()
        if key in self._items:  # repeated header: SIP allows joining with commas
            old_name, old = self._items[key]
            self._items[key] = (old_name, f"{old}, {value}")
        else:
            self._items[key] = (name.strip(), value)

    def merged(self, other: Mapping[str, str] | None) -> HeaderMap:
        """A new map where `other`'s headers replace ours of the same name."""
        out = HeaderMap()
        out._items = dict(self._items)
        for name, value in (other or {}).items():
            out._items[name.strip().lower()] = (name.strip(), value)
        return out

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def as_dict(self) -> dict[str, str]:
        """Plain dict with the original header names."""
        return dict(self._items.values())


def coerce_headers(raw: object, what: str) -> HeaderMap:
    """Chime's `inviteHeaders`/`updateHeaders` (name -> str, or a list of str) as a HeaderMap."""
    if raw is None:
        return HeaderMap()
    if not isinstance(raw, Mapping):
        raise MetadataError(f"{what} is not an object of header names to values")
    if len(raw) > MAX_HEADERS:
        raise MetadataError(f"{what} has more than {MAX_HEADERS} headers")
    pairs = []
    for name, value in raw.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif not isinstance(value, str):
            value = "" if value is None else str(value)
        pairs.append((str(name), value))
    return HeaderMap(pairs)


def is_sip_start_line(line: str) -> bool:
    """True for `INVITE sip:... SIP/2.0` or `SIP/2.0 200 OK`."""
    return bool(_REQUEST_LINE.match(line) or _STATUS_LINE.match(line))


def parse_header_block(block: str, *, strict: bool = True) -> HeaderMap:
    """`Name: value` lines (continuations folded) -> HeaderMap; bad lines refused, or skipped."""
    pairs: list[tuple[str, str]] = []
    for line in block.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t" and pairs:
            name, value = pairs[-1]
            pairs[-1] = (name, f"{value} {line.strip()}")
            continue
        match = _HEADER_LINE.match(line)
        if match is None:
            if not strict:
                continue
            raise MetadataError("a header line is not 'Name: value'")
        name = match.group(1)
        pairs.append((_COMPACT.get(name.lower(), name), match.group(2).strip()))
        if len(pairs) > MAX_HEADERS:
            raise MetadataError(f"more than {MAX_HEADERS} header lines")
    return HeaderMap(pairs)


def split_head(text: str) -> tuple[str, str]:
    """Split at the first empty line (LF or CRLF): (header block, body)."""
    match = re.search(r"\r?\n\r?\n", text)
    if match is None:
        return text, ""
    return text[: match.start()], text[match.end() :]


def split_message(text: str) -> tuple[str, HeaderMap, str]:
    """A whole SIP message -> (start line, headers, body)."""
    first, _, rest = text.partition("\n")
    head, body = split_head(rest)
    if not rest.startswith(("\n", "\r\n")) and rest:
        headers = parse_header_block(head, strict=False)  # one odd header must not cost the call
    else:
        headers, body = HeaderMap(), rest.lstrip("\r\n")
    return first.strip(), headers, body


def parse_sdp(text: str) -> tuple[SdpMedia, ...]:
    """The m-lines of an SDP body, each with its `a=label` and direction attribute."""
    media: list[SdpMedia] = []
    label: str | None = None
    direction: str | None = None
    port: int | None = None
    in_media = False

    def flush() -> None:
        if in_media:
            media.append(SdpMedia(len(media), label, direction, port))

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            flush()
            in_media, label, direction = True, None, None
            fields = line[2:].split()
            port = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
        elif in_media and line.startswith("a=label:"):
            label = line[len("a=label:") :].strip() or None
        elif in_media and line[2:] in _DIRECTIONS and line.startswith("a="):
            direction = line[2:]
    flush()
    return tuple(media)
