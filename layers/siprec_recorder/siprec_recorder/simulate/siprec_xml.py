"""RFC 7865 recording metadata as a Genesys Cloud SRC sends it (2 participants, 2 streams)."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

NS = "urn:ietf:params:xml:ns:recording:1"


@dataclass(frozen=True)
class Party:
    """A participant: its metadata id, address of record, display name and the stream it sends."""

    participant_id: str
    aor: str
    name: str
    send_stream_id: str
    recv_stream_id: str
    associate_iso: str
    disassociate_iso: str | None = None


def recording_xml(
    *,
    session_id: str,
    group_id: str,
    sip_session_id: str,
    start_iso: str,
    parties: list[Party],
    streams: list[tuple[str, str]],  # (stream_id, label)
) -> str:
    """The metadata document; `streams` are (stream_id, label) in SDP m-line order."""
    sid = quoteattr(session_id)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<recording xmlns="{NS}">',
        "  <datamode>complete</datamode>",
        f"  <group group_id={quoteattr(group_id)}>",
        f"    <associate-time>{start_iso}</associate-time>",
        "  </group>",
        f"  <session session_id={sid}>",
        f"    <group-ref>{escape(group_id)}</group-ref>",
        f"    <sipSessionID>{escape(sip_session_id)}</sipSessionID>",
        f"    <start-time>{start_iso}</start-time>",
        "  </session>",
    ]
    for p in parties:
        lines += [
            f"  <participant participant_id={quoteattr(p.participant_id)}>",
            f"    <nameID aor={quoteattr(p.aor)}>",
            f'      <name xml:lang="en">{escape(p.name)}</name>',
            "    </nameID>",
            "  </participant>",
        ]
    for stream_id, label in streams:
        lines += [
            f"  <stream stream_id={quoteattr(stream_id)} session_id={sid}>",
            f"    <label>{escape(label)}</label>",
            "  </stream>",
        ]
    lines += [
        f"  <sessionrecordingassoc session_id={sid}>",
        f"    <associate-time>{start_iso}</associate-time>",
        "  </sessionrecordingassoc>",
    ]
    for p in parties:
        lines.append(
            f"  <participantsessionassoc participant_id={quoteattr(p.participant_id)}"
            f" session_id={sid}>"
        )
        lines.append(f"    <associate-time>{p.associate_iso}</associate-time>")
        if p.disassociate_iso:
            lines.append(f"    <disassociate-time>{p.disassociate_iso}</disassociate-time>")
        lines.append("  </participantsessionassoc>")
    for p in parties:
        if p.disassociate_iso:
            continue  # a party that left sends and receives nothing any more
        lines += [
            f"  <participantstreamassoc participant_id={quoteattr(p.participant_id)}>",
            f"    <send>{escape(p.send_stream_id)}</send>",
            f"    <recv>{escape(p.recv_stream_id)}</recv>",
            "  </participantstreamassoc>",
        ]
    lines.append("</recording>")
    return "\n".join(lines) + "\n"
