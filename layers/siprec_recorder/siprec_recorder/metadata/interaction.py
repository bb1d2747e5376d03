"""The Genesys interaction id and other vendors' call identifiers, each naming where it came from.

Extraction is an ordered list of small functions so a deployment can reorder or extend it
(`extractors_from_spec("header:X-My-Id,extension:conversationId,calluuid")`); the first hit
wins and its `source` goes into the manifest, so a wrong attribution can be traced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.model import RecordingMetadata
from siprec_recorder.metadata.sip import HeaderMap


@dataclass(frozen=True, slots=True)
class InteractionId:
    """An interaction id and its source, e.g. `header:x-inin-cnv` or `request-uri:calluuid`."""

    value: str
    source: str


Extractor = Callable[[RecordingMetadata | None, HeaderMap], InteractionId | None]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+/=-]{0,127}$")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CALLUUID = re.compile(r"[;?&]calluuid=([A-Za-z0-9]{8,64})", re.IGNORECASE)
_RECORD_AOR = re.compile(r"^<?sips?:record=([A-Za-z0-9]{16,64})_", re.IGNORECASE)
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
_UCID_SESSION = re.compile(r"^00FA08[0-9A-Fa-f]{16}$")


def _clean(value: str | None) -> str | None:
    """A plausible identifier (first `;` token, no spaces, bounded) or None."""
    if not value:
        return None
    token = value.split(";")[0].strip().strip('<>"').strip()
    return token if _ID.match(token) else None


def _extension_values(meta: RecordingMetadata, key: str) -> list[str]:
    """Values of extension data named `key` (any case), document level first, then participants."""
    wanted = key.lower()
    found = [v for k, v in meta.extension.items() if k.lower() == wanted]
    for part in meta.participants:
        found += [v for k, v in part.extension.items() if k.lower() == wanted]
    return found


def header_extractor(*names: str) -> Extractor:
    """The first of these SIP headers (any case) that holds a plausible id."""

    def extract(meta: RecordingMetadata | None, headers: HeaderMap) -> InteractionId | None:
        for name in names:
            value = _clean(headers.get(name))
            if value:
                return InteractionId(value, f"header:{name}")
        return None

    return extract


def extension_extractor(*keys: str) -> Extractor:
    """Extension data by local name (any namespace, any case)."""

    def extract(meta: RecordingMetadata | None, headers: HeaderMap) -> InteractionId | None:
        if meta is None:
            return None
        for key in keys:
            for raw in _extension_values(meta, key):
                value = _clean(raw)
                if value:
                    return InteractionId(value, f"extension:{key}")
        return None

    return extract


def genesys_call_uuid(meta: RecordingMetadata | None, headers: HeaderMap) -> InteractionId | None:
    """Genesys Engage CallUUID: `calluuid=` in an Oracle request-uri, or a `sip:record=` aor."""
    if meta is None:
        return None
    for uri in _extension_values(meta, "request-uri"):
        match = _CALLUUID.search(uri)
        if match:
            return InteractionId(match.group(1), "request-uri:calluuid")
    for part in meta.participants:
        match = _RECORD_AOR.match(part.aor or "")
        if match:
            return InteractionId(match.group(1), "aor:record")
    return None


def decode_uui(value: str) -> bytes:
    """The payload of a User-to-User header: hex-decoded when it is hex, else its bytes."""
    data, _, params = value.strip().partition(";")
    data = data.strip().strip('"')
    if "encoding=hex" in params.replace(" ", "").lower() or _HEX.match(data):
        try:
            return bytes.fromhex(data)
        except ValueError:
            pass
    return data.encode("utf-8", "replace")


def uui_extractor(meta: RecordingMetadata | None, headers: HeaderMap) -> InteractionId | None:
    """A UUID (Genesys Cloud conversation id) carried in the decoded User-to-User header."""
    value = headers.get("User-to-User")
    if not value or len(value) > 1024:
        return None
    match = _UUID.search(decode_uui(value).decode("latin-1"))
    return InteractionId(match.group(0).lower(), "header:User-to-User") if match else None


DEFAULT_EXTRACTORS: tuple[Extractor, ...] = (
    header_extractor("x-inin-cnv"),
    header_extractor("X-Genesys-Conversation-ID", "X-GenesysConversationID"),
    extension_extractor("conversationId"),
    genesys_call_uuid,
    uui_extractor,
)


def extractors_from_spec(spec: str) -> tuple[Extractor, ...]:
    """`header:NAME`, `extension:KEY`, `calluuid`, `uui`, `default`, comma-separated, in order."""
    out: list[Extractor] = []
    for item in (x.strip() for x in spec.split(",")):
        kind, _, arg = item.partition(":")
        kind = kind.strip().lower()
        if kind == "header" and arg.strip():
            out.append(header_extractor(arg.strip()))
        elif kind == "extension" and arg.strip():
            out.append(extension_extractor(arg.strip()))
        elif kind == "calluuid":
            out.append(genesys_call_uuid)
        elif kind == "uui":
            out.append(uui_extractor)
        elif kind == "default":
            out.extend(DEFAULT_EXTRACTORS)
        elif item:
            raise MetadataError(f"unknown interaction id extractor '{item[:40]}'")
    return tuple(out)


def _headers(meta: RecordingMetadata | None, headers: Mapping[str, str] | None) -> HeaderMap:
    return HeaderMap(meta.headers if meta is not None else {}).merged(headers)


def find_interaction_id(
    meta: RecordingMetadata | None,
    headers: Mapping[str, str] | None = None,
    extractors: Sequence[Extractor] = DEFAULT_EXTRACTORS,
) -> InteractionId | None:
    """The first id any extractor finds, in order; `headers` add to (and win over) meta's."""
    merged = _headers(meta, headers)
    for extractor in extractors:
        found = extractor(meta, merged)
        if found is not None:
            return found
    return None


def _uui_ucid(value: str) -> str | None:
    """Avaya's UCID from a UUI payload: TLVs after the protocol byte, tag 0xFA, 8 bytes."""
    data = decode_uui(value)
    pos = 1 if data[:1] in (b"\x00", b"\x04") else 0
    while pos + 2 <= len(data):
        tag, size = data[pos], data[pos + 1]
        value_bytes = data[pos + 2 : pos + 2 + size]
        if len(value_bytes) < size:
            return None
        if tag == 0xFA and size == 8:
            return value_bytes.hex().upper()
        pos += 2 + size
    return None


def call_ids(
    meta: RecordingMetadata | None, headers: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every vendor call identifier found, by a stable key (values as the SRC sent them)."""
    merged = _headers(meta, headers)
    out: dict[str, str] = {}

    def put(key: str, value: str | None) -> None:
        value = (value or "").strip()
        if value and key not in out and len(value) <= 256:
            out[key] = value

    for key, name in (
        ("sip_call_id", "Call-ID"),
        ("cisco_guid", "Cisco-Guid"),
        ("cisco_gucid", "Cisco-Gucid"),
        ("session_id", "Session-ID"),
        ("oracle_call_id", "X-Acme-Call-ID"),
    ):
        put(key, merged.get(name))
    uui = merged.get("User-to-User")
    if uui and len(uui) <= 1024:
        put("uui_ucid", _uui_ucid(uui))
    if meta is None:
        return out
    for session in meta.sessions:
        put("sip_session_id", session.sip_session_id)
        if _UCID_SESSION.match(session.id):
            put("avaya_ucid", session.id)
    put("cisco_guid", meta.extension.get("gtd:GCI"))  # after the Cisco-Guid header
    for key, ext in (
        ("avaya_ucid", "ucid"),
        ("avaya_ucid", "AvayaUCID"),
        ("oracle_call_id", "header:Call-ID"),
    ):
        for raw in _extension_values(meta, ext):
            put(key, raw.split(";encoding=")[0] if ext == "ucid" else raw)
    for key, ext, ns in (
        ("broadworks_ext_tracking_id", "extTrackingID", "broadworks"),
        ("broadworks_call_id", "callID", "broadworks"),
        ("ribbon_gcid", "gcid", "calldata"),
        ("ribbon_call_id", "callid", "calldata"),
    ):
        if ns in meta.extension_ns.get(ext, "").lower():
            put(key, meta.extension.get(ext))
    found = genesys_call_uuid(meta, merged)
    if found is not None:
        put("genesys_call_uuid", found.value)
    return out
