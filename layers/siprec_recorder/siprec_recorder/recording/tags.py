"""S3 object tags of a recording: ids only, in S3's tag alphabet, never a phone number or name.

Tags are visible to anyone who may list the bucket, unlike the objects themselves, so they carry
only identifiers: the Genesys interaction id, the Chime transaction id, the SIP Call-ID and the
participant's role. A guard refuses any value with a digit run that could be a phone number
(7+ digits, optional `+`, spaces/dots/hyphens/parentheses between), except identifiers that are
a UUID or a hex string with letters, whose digit runs are not numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from siprec_recorder.errors import StorageError

TAG_INTERACTION = "Genesys-Interaction-ID"
TAG_TRANSACTION = "TransactionId"
TAG_CALL_ID = "CallId"
TAG_PARTICIPANT = "Participant"

PARTICIPANT_STEREO = "stereo"
PARTICIPANT_CALL = "call"

MAX_VALUE = 256
MAX_TAGS = 10  # S3 allows 10 tags per object

# S3 tag values: letters, digits, spaces and _ . : / = + - @ (ASCII letters only here).
_FORBIDDEN = re.compile(r"[^A-Za-z0-9 _.:/=+\-@]+")
# 1.555.555.0127 too, and digits apart by `_`: what sanitising makes of other separators
_PHONE = re.compile(r"\+?\(?\d(?:[ ()._\-]{0,2}\d){6,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# hex with at least one letter: 16+ plain digits are a card-number length, not an id
_HEX = re.compile(r"(?=[0-9]*[a-fA-F])[0-9a-fA-F]{16,}")
ID_KEYS = frozenset({TAG_INTERACTION, TAG_TRANSACTION, TAG_CALL_ID})


def sanitize_tag_value(value: str) -> str:
    """Replace characters S3 refuses in tag values with `_`, trim, cap at 256 characters."""
    return _FORBIDDEN.sub("_", value).strip()[:MAX_VALUE]


def looks_like_phone_number(value: str) -> bool:
    """True for a digit run that could be a dialable number (E.164 or formatted)."""
    return _PHONE.search(value) is not None


def is_opaque_id(value: str) -> bool:
    """A UUID or a long hex string: digits in it are not a phone number."""
    return _UUID.fullmatch(value) is not None or _HEX.fullmatch(value) is not None


def could_be_personal(value: str) -> bool:
    """A value that may hold a phone number: not to be shown where listings reach (tags, keys)."""
    return looks_like_phone_number(value) and not is_opaque_id(value)


def guard_tag(key: str, value: str) -> str:
    """The sanitised value, or StorageError when it could reveal a phone number."""
    clean = sanitize_tag_value(value)
    if not clean:
        raise StorageError(f"tag {key} has an empty value")
    number = looks_like_phone_number(value) or looks_like_phone_number(clean)
    if number and not (key in ID_KEYS and is_opaque_id(clean)):
        raise StorageError(f"tag {key} value refused: it looks like a phone number")
    return clean


@dataclass(frozen=True)
class CallTags:
    """The tags every object of a call shares, plus warnings for ids that were left out."""

    common: Mapping[str, str]
    warnings: list[str] = field(default_factory=list)

    def for_object(self, participant: str) -> dict[str, str]:
        """The common tags plus `Participant` (a role, `stereo` or `call`)."""
        tags = dict(self.common)
        tags[TAG_PARTICIPANT] = guard_tag(TAG_PARTICIPANT, participant)
        return tags


def call_tags(transaction_id: str, call_id: str | None, interaction_id: str | None) -> CallTags:
    """Tags of a call's objects; an id that fails the guard is left out with a warning."""
    common: dict[str, str] = {}
    warnings: list[str] = []
    for key, value in (
        (TAG_INTERACTION, interaction_id),
        (TAG_TRANSACTION, transaction_id),
        (TAG_CALL_ID, call_id),
    ):
        if not value:
            continue
        try:
            common[key] = guard_tag(key, value)
        except StorageError as exc:
            warnings.append(f"tag omitted: {exc}")
    return CallTags(common=common, warnings=warnings)
