"""The in-stream error chunk the local KVS server sends when it cannot deliver a fragment.

Real KVS reports such failures inside the media body as a Tags-only chunk (GetMedia:
AWS_KINESISVIDEO_ERROR_CODE/_ERROR_ID; GetMediaForFragmentList: AWS_KINESISVIDEO_FRAGMENT_NUMBER,
_EXCEPTION_ERROR_CODE, _EXCEPTION_MESSAGE). Built from the media package's EBML primitives.
"""

from __future__ import annotations

from collections.abc import Mapping

from siprec_recorder.media import ebml as e
from siprec_recorder.media.writer import tags_element

# The code KVS documents for a missing fragment in the in-stream error tags
# (GetMedia's AWS_KINESISVIDEO_ERROR_ID).
ERROR_FRAGMENT_NOT_FOUND = 4000


def error_chunk(tags: Mapping[str, str]) -> bytes:
    """EBML header + Segment of unknown size holding only a Tags element."""
    header = e.element(
        e.EBML,
        e.uint_element(e.EBML_VERSION, 1)
        + e.uint_element(e.EBML_READ_VERSION, 1)
        + e.uint_element(e.EBML_MAX_ID_LENGTH, 4)
        + e.uint_element(e.EBML_MAX_SIZE_LENGTH, 8)
        + e.string_element(e.DOC_TYPE, "matroska")
        + e.uint_element(e.DOC_TYPE_VERSION, 4)
        + e.uint_element(e.DOC_TYPE_READ_VERSION, 2),
    )
    segment = e.encode_id(e.SEGMENT) + e.encode_size(e.UNKNOWN, 8)
    return header + segment + tags_element(tags)
