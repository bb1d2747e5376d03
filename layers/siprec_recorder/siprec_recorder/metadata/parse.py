"""`parse_metadata`: one entry point that recognises what it was given and parses it.

Accepted inputs (after a UTF-8 BOM and leading blank lines): the metadata XML alone; a
multipart/mixed body (boundary from `content_type` or from the body); a whole SIP message (its
headers are kept for correlation); a Chime "Streaming Status" event as JSON, either the whole
EventBridge envelope or only its `detail` (`siprecMetadata` + `inviteHeaders`/`updateHeaders`).
Every path goes through the same hardened XML intake (`xmlsafe`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata import multipart
from siprec_recorder.metadata.model import RecordingMetadata, SdpMedia
from siprec_recorder.metadata.sip import (
    HeaderMap,
    coerce_headers,
    is_sip_start_line,
    parse_header_block,
    parse_sdp,
    split_head,
    split_message,
)
from siprec_recorder.metadata.siprec import metadata_from_xml
from siprec_recorder.metadata.xmlsafe import DEFAULT_MAX_BYTES, check_size, decode_text

_GTD_GCI = re.compile(r"^GCI,([0-9A-Fa-f]{8,64})\s*$", re.MULTILINE)
_MAX_NESTING = 3  # event -> SIP message -> multipart -> XML
_MIME_HEAD = re.compile(r"\A(?:content-[a-z-]+|mime-version)\s*:", re.IGNORECASE)
# Chime's documentation renders the XML declaration as "<&xml ... &>".
_CHIME_ARTEFACT = re.compile(r"\A<&xml([^<>]*?)&>")


def parse_metadata(
    data: bytes | str,
    *,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RecordingMetadata:
    """Parse SIPREC metadata from any supported container; MetadataError if it is not usable."""
    check_size(data, max_bytes)
    warnings: list[str] = []
    text = decode_text(data, warnings)
    extra = coerce_headers(headers, "headers") if headers else HeaderMap()
    return _dispatch(text, content_type, HeaderMap(), extra, warnings, 0)


def _dispatch(
    text: str,
    content_type: str | None,
    found: HeaderMap,
    extra: HeaderMap,
    warnings: list[str],
    depth: int,
) -> RecordingMetadata:
    if depth > _MAX_NESTING:
        raise MetadataError("metadata is nested too deeply (event in a message in a body...)")
    body = text.lstrip(" \t\r\n")
    if not body:
        raise MetadataError("metadata input is empty")
    first_line = body.split("\n", 1)[0].strip()
    if multipart.is_multipart(content_type) or body.startswith("--"):
        return _from_multipart(body, content_type, found, extra, warnings, depth)
    if body.startswith("<"):
        return _from_xml(body, found, extra, warnings, ())
    if body.startswith(("{", "[")):
        return _from_event(body, found, extra, warnings, depth)
    if is_sip_start_line(first_line):
        _, sip_headers, sip_body = split_message(body)
        found = found.merged(sip_headers)
        return _dispatch(
            sip_body, sip_headers.get("Content-Type"), found, extra, warnings, depth + 1
        )
    if _MIME_HEAD.match(body):  # a MIME entity: its own headers, then the body
        head, rest = split_head(body)
        mime = parse_header_block(head)
        return _dispatch(rest, mime.get("Content-Type"), found, extra, warnings, depth + 1)
    raise MetadataError(
        "input is not SIPREC metadata (expected XML, a multipart body, a SIP message or an event)"
    )


def _from_xml(
    text: str,
    found: HeaderMap,
    extra: HeaderMap,
    warnings: list[str],
    sdp: tuple[SdpMedia, ...],
) -> RecordingMetadata:
    raw = text
    match = _CHIME_ARTEFACT.match(text)
    if match:
        text = f"<?xml{match.group(1)}?>" + text[match.end() :]
        warnings.append("repaired a '<&xml ... &>' declaration (Chime documentation artefact)")
    headers = found.merged(extra).as_dict()
    meta = metadata_from_xml(text, warnings=warnings, headers=headers, sdp=sdp, raw_xml=raw)
    note = _label_mismatch(meta)
    return replace(meta, warnings=(*meta.warnings, note)) if note else meta


def _label_mismatch(meta: RecordingMetadata) -> str | None:
    """A warning when the SDP's a=label values and the metadata's stream labels differ."""
    sdp = [m.label for m in meta.sdp if m.label is not None]
    xml = [s.label for s in meta.streams if s.label is not None]
    if not sdp or set(sdp) == set(xml):
        return None
    only_sdp = sorted(set(sdp) - set(xml))[:4]
    only_xml = sorted(set(xml) - set(sdp))[:4]
    return (
        f"SDP and metadata labels differ (only in SDP: {', '.join(only_sdp) or '-'}; "
        f"only in metadata: {', '.join(only_xml) or '-'}); Chime's SDP label is preferred"
    )


def _from_multipart(
    body: str,
    content_type: str | None,
    found: HeaderMap,
    extra: HeaderMap,
    warnings: list[str],
    depth: int,
) -> RecordingMetadata:
    boundary = multipart.boundary_from_content_type(content_type)
    if boundary is None:
        boundary = multipart.find_boundary(body)
        if boundary is None:
            raise MetadataError("multipart body without a boundary")
    elif not body.startswith("--" + boundary):
        # header and body disagree: trust the body, as it is what we must cut
        found_boundary = multipart.find_boundary(body)
        if found_boundary is not None and f"--{boundary}" not in body:
            warnings.append("Content-Type boundary not found in the body; used the body's")
            boundary = found_boundary
    parts = multipart.split_parts(body, boundary)
    part = multipart.metadata_part(parts, warnings)
    sdp = multipart.sdp_part(parts)
    media = parse_sdp(sdp.body) if sdp is not None else ()
    content = part.body.lstrip(" \t\r\n")
    if multipart.is_multipart(part.content_type):
        return _dispatch(
            content, part.headers.get("Content-Type"), found, extra, warnings, depth + 1
        )
    if not content.startswith("<"):
        raise MetadataError("the rs-metadata part does not contain XML")
    meta = _from_xml(content, found, extra, warnings, media)
    gci = _gtd_gci(parts)
    if gci is None:
        return meta
    return replace(
        meta,
        extension={**meta.extension, "gtd:GCI": gci},
        extension_ns={**meta.extension_ns, "gtd:GCI": "application/gtd"},
    )


def _gtd_gci(parts: list[multipart.Part]) -> str | None:
    """Cisco's Global Call Id from an application/gtd part (`GCI,<hex>`), if there is one."""
    for part in parts:
        if part.content_type == "application/gtd":
            match = _GTD_GCI.search(part.body)
            if match:
                return match.group(1)
    return None


def _event_detail(obj: Any) -> Mapping[str, Any]:
    """The `detail` of an EventBridge envelope (or the object itself when it is the detail)."""
    if not isinstance(obj, Mapping):
        raise MetadataError("event JSON is not an object")
    detail = obj.get("detail")
    if isinstance(detail, Mapping):
        return detail
    if "siprecMetadata" in obj or "streamingStatus" in obj:
        return obj
    raise MetadataError("JSON is not a Chime Streaming Status event (no detail)")


def _from_event(
    body: str, found: HeaderMap, extra: HeaderMap, warnings: list[str], depth: int
) -> RecordingMetadata:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise MetadataError(f"event JSON is invalid{where}") from None
    detail = _event_detail(obj)
    xml = detail.get("siprecMetadata")
    if not isinstance(xml, str) or not xml.strip():
        status = detail.get("streamingStatus")
        shown = f" ({status})" if isinstance(status, str) and len(status) < 20 else ""
        raise MetadataError(f"event{shown} has no siprecMetadata")
    found = found.merged(coerce_headers(detail.get("inviteHeaders"), "inviteHeaders"))
    found = found.merged(coerce_headers(detail.get("updateHeaders"), "updateHeaders"))
    # a JSON escape can carry a lone surrogate ("\ud800") that the input's own repair never saw
    xml = decode_text(xml, warnings)
    return _dispatch(xml, None, found, extra, warnings, depth + 1)
