"""SIPREC metadata XML -> RecordingMetadata, for RFC 7865, the pre-RFC draft and BroadWorks.

All three dialects are read by one tolerant walk: elements are matched by *local name* in any
namespace and with any prefix; ids come from `participant_id`/`stream_id`/`session_id` (RFC) or
`id`/`session` (draft, BroadWorks); `<send>`/`<recv>` are taken from inside `<participant>`
(draft), from `<participantstreamassoc>` (RFC) or as `<send><id>` (BroadWorks). Anything not
part of the model is flattened into extension data, so vendor data in a foreign namespace
(AudioCodes `ac:AvayaUCID`, Ribbon `callData`, Intrado `role`) is kept, not dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.elements import (
    Extension,
    attr,
    clean_name,
    local,
    short,
    split_tag,
    stream_ref,
    text_of,
)
from siprec_recorder.metadata.model import (
    DataMode,
    Format,
    Participant,
    RecordingMetadata,
    SdpMedia,
    Session,
    Stream,
)
from siprec_recorder.metadata.xmlsafe import parse_xml

MAX_ITEMS = 512  # participants or streams in one snapshot; real calls have a handful
NS_RFC7865 = "urn:ietf:params:xml:ns:recording:1"
NS_DRAFT = "urn:ietf:params:xml:ns:recording"
NS_BROADWORKS = "urn:ietf:params:xml:ns:siprec"
_FORMATS: dict[str, Format] = {
    NS_RFC7865: "rfc7865",
    NS_DRAFT: "draft",
    NS_BROADWORKS: "broadworks",
}
_TIME_TAGS = {"associate-time", "disassociate-time", "start-time", "stop-time"}


@dataclass
class _PartBuilder:
    id: str
    aor: str | None = None
    name: str | None = None
    send_ids: list[str] = field(default_factory=list)
    recv_ids: list[str] = field(default_factory=list)
    associate_time: str | None = None
    disassociate_time: str | None = None
    extension: Extension = field(default_factory=Extension)


@dataclass
class _SessionBuilder:
    id: str
    sip_session_id: str | None = None
    start_time: str | None = None
    stop_time: str | None = None
    associate_time: str | None = None
    disassociate_time: str | None = None

    def build(self) -> Session:
        return Session(
            id=self.id,
            sip_session_id=self.sip_session_id,
            start_time=self.start_time or self.associate_time,
            stop_time=self.stop_time or self.disassociate_time,
        )


class _Walker:
    """One pass over the document's top-level elements, collecting builders in order."""

    def __init__(self) -> None:
        self.data_mode: str | None = None
        self.sessions: dict[str, _SessionBuilder] = {}
        self.participants: dict[str, _PartBuilder] = {}
        self.streams: dict[str, Stream] = {}
        self.extension = Extension()
        self.warnings: list[str] = []

    def participant(self, pid: str | None, *, declare: bool) -> _PartBuilder | None:
        if pid is None:
            if not declare:
                self.warnings.append("association without participant_id ignored")
                return None
            pid = f"participant-{len(self.participants) + 1}"
            self.warnings.append(f"participant #{len(self.participants) + 1} has no id")
        if pid not in self.participants:
            if not declare and self.data_mode != "partial":  # a partial may refer back
                self.warnings.append(f"association refers to undeclared participant {short(pid)}")
            self.participants[pid] = _PartBuilder(id=pid)
        return self.participants[pid]

    def session(self, sid: str | None) -> _SessionBuilder:
        sid = sid or f"session-{len(self.sessions) + 1}"
        if sid not in self.sessions:
            self.sessions[sid] = _SessionBuilder(id=sid)
        return self.sessions[sid]

    def walk(self, root: etree._Element) -> None:
        """Declarations first, associations second: element order in the document is free."""
        later = []
        for element in root:
            name = local(element)
            if not name:
                continue
            if name in _ASSOCIATIONS:
                later.append(element)
                continue
            handler = _HANDLERS.get(name)
            if handler is not None:
                handler(self, element)
            else:
                self.extension.flatten(element)
        for element in later:
            _ASSOCIATIONS[local(element)](self, element)

    # -- handlers -------------------------------------------------------------------------
    def on_datamode(self, element: etree._Element) -> None:
        self.data_mode = (text_of(element) or "").lower()

    def on_session(self, element: etree._Element) -> None:
        session = self.session(attr(element, "session_id", "id"))
        for child in element:
            name = local(child)
            if name == "sipsessionid":
                session.sip_session_id = session.sip_session_id or text_of(child)
            elif name in _TIME_TAGS:
                setattr(session, name.replace("-", "_"), text_of(child))
            elif name in ("group-ref", "group_ref"):
                continue
            elif name:
                self.extension.flatten(child)

    def on_sessionrecordingassoc(self, element: etree._Element) -> None:
        session = self.session(attr(element, "session_id", "session"))
        for child in element:
            name = local(child)
            if name in ("associate-time", "disassociate-time"):
                value = text_of(child)
                slot = name.replace("-", "_")
                if getattr(session, slot) is None:
                    setattr(session, slot, value)

    def on_participant(self, element: etree._Element) -> None:
        part = self.participant(attr(element, "participant_id", "id"), declare=True)
        assert part is not None
        for child in element:
            name = local(child)
            if name == "nameid":
                part.aor = part.aor or attr(child, "aor")
                for sub in child:
                    if local(sub) == "name" and part.name is None:
                        part.name = clean_name(text_of(sub))
            elif name == "aor":
                part.aor = part.aor or text_of(child)
            elif name == "name":
                part.name = part.name or clean_name(text_of(child))
            elif name in ("send", "recv"):
                self._add_ref(part, name, child)
            elif name in ("associate-time", "disassociate-time"):
                setattr(part, name.replace("-", "_"), text_of(child))
            elif name:
                part.extension.flatten(child)

    def _add_ref(self, part: _PartBuilder, name: str, element: etree._Element) -> None:
        ref = stream_ref(element)
        if ref is None:
            self.warnings.append(f"empty <{name}> ignored")
            return
        (part.send_ids if name == "send" else part.recv_ids).append(ref)

    def on_participantsessionassoc(self, element: etree._Element) -> None:
        part = self.participant(attr(element, "participant_id", "participant"), declare=False)
        if part is None:
            return
        for child in element:
            name = local(child)
            if name in ("associate-time", "disassociate-time"):
                slot = name.replace("-", "_")
                if getattr(part, slot) is None:
                    setattr(part, slot, text_of(child))

    def on_participantstreamassoc(self, element: etree._Element) -> None:
        part = self.participant(attr(element, "participant_id", "participant"), declare=False)
        if part is None:
            return
        for child in element:
            name = local(child)
            if name in ("send", "recv"):
                self._add_ref(part, name, child)

    def on_stream(self, element: etree._Element) -> None:
        sid = attr(element, "stream_id", "id")
        if sid is None:
            sid = f"stream-{len(self.streams) + 1}"
            self.warnings.append(f"stream #{len(self.streams) + 1} has no id")
        label = None
        for child in element:
            if local(child) == "label":
                label = text_of(child)
        if label is None:
            self.warnings.append(f"stream {short(sid)} has no label")
        if sid in self.streams:
            self.warnings.append(f"stream {short(sid)} declared twice; the last one is kept")
        self.streams[sid] = Stream(
            id=sid, label=label, session=attr(element, "session_id", "session")
        )

    def on_extensiondata(self, element: etree._Element) -> None:
        for child in element:
            self.extension.flatten(child)

    def on_group(self, element: etree._Element) -> None:
        for child in element:
            name = local(child)
            if name and name not in _TIME_TAGS and name != "initiator":
                self.extension.flatten(child)

    def on_recording(self, element: etree._Element) -> None:
        """BroadWorks' `<recording>` (requestor, type): not needed for correlation."""


_HANDLERS = {
    "datamode": _Walker.on_datamode,
    "session": _Walker.on_session,
    "participant": _Walker.on_participant,
    "stream": _Walker.on_stream,
    "extensiondata": _Walker.on_extensiondata,
    "group": _Walker.on_group,
    "recording": _Walker.on_recording,
}
_ASSOCIATIONS = {
    "sessionrecordingassoc": _Walker.on_sessionrecordingassoc,
    "participantsessionassoc": _Walker.on_participantsessionassoc,
    "participantstreamassoc": _Walker.on_participantstreamassoc,
}


def _detect_format(root: etree._Element, warnings: list[str]) -> Format:
    ns, name = split_tag(root.tag)
    if name not in ("recording", "recording_metadata"):
        raise MetadataError(f"root element <{short(name, 40)}> is not SIPREC recording metadata")
    if ns in _FORMATS:
        return _FORMATS[ns]
    if name == "recording_metadata":
        guess: Format = "broadworks"
    elif any(child.get("participant_id") or child.get("stream_id") for child in root):
        guess = "rfc7865"
    else:
        guess = "draft"
    where = f"namespace {short(ns, 60)}" if ns else "no namespace"
    warnings.append(f"unknown metadata {where}; read as {guess}")
    return guess


def _resolve(walker: _Walker) -> tuple[Participant, ...]:
    """Turn stream-id references into labels; dangling references become warnings.

    In a partial snapshot a reference may point to a stream declared earlier: it is kept as the
    stream id and `correlate.merge` turns it into that stream's label.
    """
    by_id = {s.id: s.label for s in walker.streams.values()}
    labels = {s.label for s in walker.streams.values() if s.label is not None}
    out = []
    for n, part in enumerate(walker.participants.values(), start=1):
        resolved: dict[str, list[str]] = {"send": [], "recv": []}
        for kind, ids in (("send", part.send_ids), ("recv", part.recv_ids)):
            for ref in ids:
                label = by_id.get(ref)
                if label is None and ref not in by_id and ref in labels:
                    label = ref
                    walker.warnings.append(f"participant #{n} {kind}s a label, not a stream id")
                if label is None and ref not in by_id and walker.data_mode == "partial":
                    label = ref  # a stream of an earlier snapshot: merge() resolves the id
                if label is None:
                    why = "a stream without label" if ref in by_id else "an undeclared stream"
                    walker.warnings.append(f"participant #{n} {kind}s {why} {short(ref)}")
                elif label not in resolved[kind]:
                    resolved[kind].append(label)
        out.append(
            Participant(
                id=part.id,
                aor=part.aor,
                name=part.name,
                sends=tuple(resolved["send"]),
                recvs=tuple(resolved["recv"]),
                associate_time=part.associate_time,
                disassociate_time=part.disassociate_time,
                extension=dict(part.extension.values),
            )
        )
    return tuple(out)


def metadata_from_xml(
    text: str,
    *,
    warnings: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    sdp: Sequence[SdpMedia] = (),
    raw_xml: str | None = None,
) -> RecordingMetadata:
    """Parse decoded metadata XML text (any dialect) into the model."""
    parsed = parse_xml(text, list(warnings))
    notes = list(parsed.warnings)
    root = parsed.root
    fmt = _detect_format(root, notes)
    if len(root) == 0:
        raise MetadataError("metadata root has no child elements (tags stripped or empty)")
    walker = _Walker()
    walker.walk(root)
    for what, count in (
        ("participants", len(walker.participants)),
        ("streams", len(walker.streams)),
    ):
        if count > MAX_ITEMS:
            raise MetadataError(f"metadata declares {count} {what}, over the cap of {MAX_ITEMS}")
    if not walker.participants and not walker.streams and walker.data_mode != "partial":
        raise MetadataError("metadata has no participant and no stream")
    mode: DataMode = "complete"
    if walker.data_mode == "partial":
        mode = "partial"
    elif walker.data_mode != "complete":
        shown = "missing" if walker.data_mode is None else f"'{short(walker.data_mode, 20)}'"
        notes.append(f"dataMode {shown}; assumed complete")
    participants = _resolve(walker)
    labels = [s.label for s in walker.streams.values() if s.label is not None]
    if len(set(labels)) != len(labels):
        walker.warnings.append("several streams share a label")
    return RecordingMetadata(
        format=fmt,
        data_mode=mode,
        sessions=tuple(s.build() for s in walker.sessions.values()),
        participants=participants,
        streams=tuple(walker.streams.values()),
        extension=dict(walker.extension.values),
        extension_ns=dict(walker.extension.namespaces),
        warnings=tuple(notes + walker.warnings),
        headers=dict(headers or {}),
        raw_xml=text if raw_xml is None else raw_xml,
        sdp=tuple(sdp),
    )
