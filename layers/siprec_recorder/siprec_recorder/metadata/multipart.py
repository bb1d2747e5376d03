"""multipart/mixed bodies (RFC 2046) as SRCs send them: SDP + rs-metadata, in either order.

The boundary comes from the Content-Type header when there is one, else from the first
delimiter line of the body. LF and CRLF line ends are both accepted; a missing close delimiter
or a trailing space after it (oracle_1) is tolerated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.sip import HeaderMap, parse_header_block, split_head

MAX_PARTS = 16
_BOUNDARY_PARAM = re.compile(r""";\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^;\s"]{1,200}))""", re.I)
_METADATA_TYPES = ("application/rs-metadata",)  # also matches application/rs-metadata+xml


@dataclass(frozen=True, slots=True)
class Part:
    """One body part: its headers and its content (line ends as received)."""

    headers: HeaderMap
    body: str

    @property
    def content_type(self) -> str:
        """The media type, lower case, without parameters ('' when absent)."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


def is_multipart(content_type: str | None) -> bool:
    """True for a multipart/* Content-Type."""
    return content_type is not None and content_type.strip().lower().startswith("multipart/")


def boundary_from_content_type(content_type: str | None) -> str | None:
    """The `boundary=` parameter of a Content-Type header, quoted or not."""
    if not content_type:
        return None
    match = _BOUNDARY_PARAM.search(content_type)
    if match is None:
        return None
    return match.group(1) or match.group(2)


def find_boundary(body: str) -> str | None:
    """The boundary from the first `--token` line of a body (no Content-Type available)."""
    for line in body.lstrip().splitlines()[:1]:
        line = line.strip()
        if line.startswith("--") and 2 < len(line) <= 202 and " " not in line:
            return line[2:]
    return None


def split_parts(body: str, boundary: str) -> list[Part]:
    """Cut a multipart body at its delimiter lines; preamble and epilogue are dropped."""
    delimiter = "--" + boundary
    parts: list[list[str]] = []
    current: list[str] | None = None
    for line in body.splitlines(keepends=True):
        bare = line.rstrip()
        if bare == delimiter or bare == delimiter + "--":
            if current is not None:
                parts.append(current)
            if bare.endswith("--") and bare != delimiter:
                current = None
                break
            current = []
            if len(parts) >= MAX_PARTS:
                raise MetadataError(f"multipart body has more than {MAX_PARTS} parts")
        elif current is not None:
            current.append(line)
    if current is not None:
        parts.append(current)
    if not parts:
        raise MetadataError("multipart body has no part with the announced boundary")
    return [_part("".join(lines)) for lines in parts]


def _part(text: str) -> Part:
    # The line break before the next delimiter belongs to the delimiter (RFC 2046).
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if text.startswith(("\n", "\r\n")):
        return Part(HeaderMap(), text.lstrip("\r\n"))
    head, content = split_head(text)
    try:
        headers = parse_header_block(head)
    except MetadataError:
        return Part(HeaderMap(), text)  # no headers at all: the whole part is content
    return Part(headers, content)


def metadata_part(parts: list[Part], warnings: list[str]) -> Part:
    """The rs-metadata part: by Content-Type, else by Content-Disposition, else by content."""
    for part in parts:
        if part.content_type.startswith(_METADATA_TYPES):
            return part
    for part in parts:
        disposition = part.headers.get("Content-Disposition", "").lower()
        if disposition.split(";")[0].strip() == "recording-session":
            warnings.append("metadata part found by Content-Disposition, not by Content-Type")
            return part
    for part in parts:
        if part.body.lstrip().startswith("<") and part.content_type != "application/sdp":
            warnings.append("metadata part found by its XML content, not by its headers")
            return part
    raise MetadataError("multipart body has no rs-metadata part")


def sdp_part(parts: list[Part]) -> Part | None:
    """The application/sdp part, if any."""
    for part in parts:
        if part.content_type == "application/sdp":
            return part
    return None
