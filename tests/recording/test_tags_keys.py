"""Tag values in S3's alphabet with no phone numbers; keys that cannot leave the call folder."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from siprec_recorder.errors import StorageError
from siprec_recorder.recording.keys import recording_keys, safe_segment, stream_name
from siprec_recorder.recording.tags import (
    TAG_CALL_ID,
    TAG_INTERACTION,
    TAG_PARTICIPANT,
    call_tags,
    guard_tag,
    sanitize_tag_value,
)

S3_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+\-@]{0,256}$")  # AWS tag value character set
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize(
    "raw",
    ["a#b$c", "x<y>z", "quote\"s'", "semi;colon,comma", "tab\there", "naïve", "a*b?c|d&e%f"],
)
def test_sanitised_values_use_only_s3_tag_characters(raw: str) -> None:
    clean = sanitize_tag_value(raw)
    assert S3_TAG_VALUE.match(clean)
    assert clean  # something is left of each


def test_sanitising_keeps_allowed_characters_and_caps_length() -> None:
    allowed = "Az09 _.:/=+-@"
    assert sanitize_tag_value(allowed) == allowed
    assert len(sanitize_tag_value("a" * 1000)) == 256


@pytest.mark.parametrize(
    "value",
    [
        "+14155550123",
        "14155550123",
        "(415) 555-0123",
        "415-555-0123",
        "+44 20 7946 0958",
        "1.555.555.0127",
        "+1.555.555.0127",
        "1555555012700000",  # 16 plain digits: a card number's length, not a hex id
        "415#555#0123",  # sanitised to 415_555_0123: still the number, digit for digit
        "4(1(5(5(5(5(0(1(2(3",  # a separator between every digit
        "tel:415*555*0123",
    ],
)
def test_phone_numbers_are_refused(value: str) -> None:
    for key in (TAG_PARTICIPANT, TAG_CALL_ID, TAG_INTERACTION):
        with pytest.raises(StorageError, match="phone number"):
            guard_tag(key, value)


def test_uuid_and_hex_ids_pass_the_guard_only_under_id_keys() -> None:
    assert guard_tag(TAG_INTERACTION, UUID) == UUID
    assert guard_tag(TAG_CALL_ID, "a1b2c3d4e5f60718293a4b5c") == "a1b2c3d4e5f60718293a4b5c"
    with pytest.raises(StorageError):
        guard_tag(TAG_PARTICIPANT, "12345678-1234-1234-1234-123456789012")


def test_call_tags_drop_an_id_that_could_be_a_number_and_say_so() -> None:
    tags = call_tags("tx-1", "+14155550123@sbc.example", UUID)
    assert tags.common == {"Genesys-Interaction-ID": UUID, "TransactionId": "tx-1"}
    assert len(tags.warnings) == 1 and "CallId" in tags.warnings[0]
    assert "4155550123" not in tags.warnings[0]  # the refusal never echoes the number
    obj = tags.for_object("customer")
    assert obj["Participant"] == "customer" and all(S3_TAG_VALUE.match(v) for v in obj.values())
    kept = call_tags("tx-1", "abc@10.0.0.1", None)
    assert kept.common["CallId"] == "abc@10.0.0.1" and "Genesys-Interaction-ID" not in kept.common


def test_folder_uses_utc_date_and_interaction_id_else_transaction() -> None:
    late_evening = datetime(2026, 11, 26, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    keys = recording_keys(UUID, "tx", late_evening, "/recordings")
    assert keys.folder == f"recordings/2026/11/27/{UUID}/tx/"  # 04:30 UTC the next day
    assert keys.stereo("wav") == keys.folder + "stereo.wav"
    assert keys.party("customer", "1", "flac") == keys.folder + "customer-1.flac"
    assert (
        keys.manifest.endswith("/manifest.json") and keys.vcon == f"{keys.folder}{UUID}.vcon.json"
    )
    fallback = recording_keys(None, "8a3b-tx", late_evening, "")
    assert fallback.folder == "2026/11/27/8a3b-tx/8a3b-tx/"
    with pytest.raises(StorageError):
        recording_keys(None, "tx", datetime(2026, 1, 1), "x/")  # naive time is refused


def test_an_interaction_id_that_could_be_a_phone_number_never_names_the_folder() -> None:
    """A SIP URI taken for the interaction id: the folder (in every listing, log line and the
    vCon's name) uses the transaction id instead."""
    when = datetime(2026, 11, 26, 12, tzinfo=UTC)
    for phoney in ("sip:+15555550127@198.51.100.10", "1.555.555.0127", "+44 20 7946 0958"):
        keys = recording_keys(phoney, "tx-9", when, "recordings/")
        assert keys.folder == "recordings/2026/11/26/tx-9/tx-9/"
        assert "555" not in keys.vcon and "7946" not in keys.vcon
    assert recording_keys(UUID, "tx-9", when, "").folder == f"2026/11/26/{UUID}/tx-9/"


def test_two_sessions_of_one_conversation_never_share_a_folder() -> None:
    """Genesys records a conversation in several SIPREC sessions (transfer, consult): same
    interaction id, another transaction. One folder would let the second call's manifest and
    audio overwrite the first's."""
    when = datetime(2026, 11, 26, 12, tzinfo=UTC)
    first = recording_keys(UUID, "tx-a", when, "recordings/")
    second = recording_keys(UUID, "tx-b", when, "recordings/")
    assert first.folder != second.folder and first.manifest != second.manifest
    assert first.folder.startswith(f"recordings/2026/11/26/{UUID}/")
    assert second.folder.startswith(f"recordings/2026/11/26/{UUID}/")


@pytest.mark.parametrize(
    "hostile", ["../../etc/passwd", "..", ".", "", "a/b\\c", "x\x00y", "é" * 300]
)
def test_hostile_ids_become_one_safe_segment(hostile: str) -> None:
    seg = safe_segment(hostile)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", seg) and seg not in (".", "..")
    assert "/" not in seg


def test_distinct_ids_stay_distinct_after_sanitising() -> None:
    assert safe_segment("a/b") != safe_segment("a?b")
    assert safe_segment("interaction-1") == "interaction-1"


def test_stream_name_from_arn() -> None:
    arn = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/ChimeVoiceConnector-x-1/1764140400000"
    assert stream_name(arn) == "ChimeVoiceConnector-x-1"
    assert stream_name(None) == "unknown-stream"
    assert "/" not in stream_name("arn:aws:kinesisvideo:r:1:stream/../../x/1")


def test_every_part_of_a_key_stays_inside_the_call_folder() -> None:
    """Role, label, prefix and transaction id come from events and metadata: each becomes one
    safe segment, so no value can add a folder level or climb out of the call's folder."""
    when = datetime(2026, 11, 26, 12, tzinfo=UTC)
    keys = recording_keys(UUID, "../../tx/..", when, "rec/")
    assert keys.folder.startswith(f"rec/2026/11/26/{UUID}/") and keys.folder.count("/") == 6
    assert ".." not in keys.folder.split("/")
    conversation = recording_keys("../conv/..", "tx", when, "rec/").folder
    assert conversation.count("/") == 6 and ".." not in conversation.split("/")
    hostile_prefix = recording_keys(UUID, "tx", when, "rec/../../other/").folder
    assert ".." not in hostile_prefix.split("/") and hostile_prefix.startswith("rec/")
    party = keys.party("../agent", "2/../../x", "wav")
    assert party.startswith(keys.folder) and "/" not in party[len(keys.folder) :]
    with pytest.raises(StorageError, match="no transaction id"):
        recording_keys(UUID, "", when, "rec/")


def test_a_number_dressed_as_an_opaque_id_is_still_refused() -> None:
    """Only a whole UUID or 16+ hex characters is opaque: a short hex-looking value holding a
    number, or a UUID with a number appended, is not (mutation testing)."""
    for value in ("4155550123ab", f"{UUID}@4155550123"):
        with pytest.raises(StorageError, match="phone number"):
            guard_tag(TAG_CALL_ID, value)
