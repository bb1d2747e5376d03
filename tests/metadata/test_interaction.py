"""Interaction id: the default extractor order, configurable extractors, UUI decoding."""

from __future__ import annotations

import pytest

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.interaction import (
    call_ids,
    decode_uui,
    extractors_from_spec,
    find_interaction_id,
)
from siprec_recorder.metadata.parse import parse_metadata
from tests.conftest import SIPREC_CORPUS

CNV = "7f0c1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
WITH_EXTENSION = (
    '<recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>complete</datamode>'
    '<session session_id="s"><extensiondata xmlns:g="urn:example:genesys">'
    "<g:conversationId>ext-conv-1</g:conversationId></extensiondata></session>"
    '<participant participant_id="p">'
    '<nameID aor="sip:record=01PEP83ES8B0FC7QD151Q2LAES00022M_x@h"/>'
    "</participant></recording>"
)


def source_of(headers: dict[str, str]) -> tuple[str, str] | None:
    found = find_interaction_id(parse_metadata(WITH_EXTENSION), headers)
    return None if found is None else (found.value, found.source)


def test_default_order() -> None:
    headers = {
        "X-ININ-CNV": CNV,
        "x-genesysconversationid": "hdr-conv-2",
        "User-to-User": "ignored",
    }
    assert source_of(headers) == (CNV, "header:x-inin-cnv")
    del headers["X-ININ-CNV"]
    assert source_of(headers) == ("hdr-conv-2", "header:X-GenesysConversationID")
    del headers["x-genesysconversationid"]
    assert source_of(headers) == ("ext-conv-1", "extension:conversationId")
    xml = WITH_EXTENSION.replace("conversationId>ext-conv-1</g:conversationId", "other>x</g:other")
    found = find_interaction_id(parse_metadata(xml))
    assert found is not None
    assert (found.value, found.source) == ("01PEP83ES8B0FC7QD151Q2LAES00022M", "aor:record")


def test_uui_with_a_conversation_uuid() -> None:
    payload = b"\x04\xc8\x24" + CNV.upper().encode()
    headers = {"user-to-user": payload.hex().upper() + ";encoding=hex"}
    found = find_interaction_id(None, headers)
    assert found is not None and (found.value, found.source) == (CNV, "header:User-to-User")
    assert decode_uui("plain text;purpose=x") == b"plain text"


def test_oracle_uui_has_no_interaction_id_but_a_ucid() -> None:
    # oracle_6.txt User-to-User: 04 FA 08 004762C169FA480C C8 14 "00071252811778010124"
    meta = parse_metadata((SIPREC_CORPUS / "oracle_6.txt").read_bytes())
    assert find_interaction_id(meta) is None
    assert call_ids(meta)["uui_ucid"] == "004762C169FA480C"


def test_implausible_values_are_skipped() -> None:
    assert find_interaction_id(None, {"x-inin-cnv": "has spaces in it"}) is None
    assert find_interaction_id(None, {"x-inin-cnv": "x" * 500}) is None
    found = find_interaction_id(None, {"x-inin-cnv": f" <{CNV}>;tag=1 "})
    assert found is not None and found.value == CNV


def test_configured_extractors() -> None:
    meta = parse_metadata((SIPREC_CORPUS / "oracle_4.txt").read_bytes())
    custom = extractors_from_spec("header:X-Custom-Id, calluuid")
    found = find_interaction_id(meta, {"x-custom-id": "abc-123"}, custom)
    assert found is not None and (found.value, found.source) == ("abc-123", "header:X-Custom-Id")
    found = find_interaction_id(meta, None, custom)
    assert found is not None and found.source == "request-uri:calluuid"
    only_headers = extractors_from_spec("header:x-inin-cnv")
    assert find_interaction_id(meta, None, only_headers) is None
    assert len(extractors_from_spec("default,uui")) == 6
    with pytest.raises(MetadataError, match="unknown"):
        extractors_from_spec("header:x,magic")


def test_extension_names_match_in_any_case_and_can_be_configured() -> None:
    xml = WITH_EXTENSION.replace("g:conversationId>", "g:ConversationID>")
    found = find_interaction_id(parse_metadata(xml))
    assert found is not None and found.value == "ext-conv-1"
    only = extractors_from_spec("extension:CONVERSATIONID")
    found = find_interaction_id(parse_metadata(xml), None, only)
    assert found is not None and (found.value, found.source) == (
        "ext-conv-1",
        "extension:CONVERSATIONID",
    )


def test_uui_hex_is_recognised_without_the_encoding_parameter_and_bounded() -> None:
    payload = b"\x04\xc8\x24" + CNV.encode()
    assert decode_uui(payload.hex()) == payload  # hex digits alone: decoded
    found = find_interaction_id(None, {"User-to-User": payload.hex()})
    assert found is not None and found.value == CNV
    huge = payload.hex() + "00" * 600  # over 1 KiB: not read at all
    assert find_interaction_id(None, {"User-to-User": huge}) is None
