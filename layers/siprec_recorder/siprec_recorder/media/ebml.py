"""EBML primitives: variable-length integers, element ids and sizes (both directions).

Reading is done on a buffer at an offset and returns None when the buffer ends too early, so the
incremental reader can wait for more bytes instead of failing. Writing helpers serve the KVS-style
writer used by the simulator and the tests.
"""

from __future__ import annotations

import struct

from siprec_recorder.errors import MediaError

#: a size field whose value bits are all ones means "unknown size" (live streams, KVS Clusters)
UNKNOWN = -1

# Element ids (with their length-marker bits, as written in the file).
EBML = 0x1A45DFA3
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
INFO = 0x1549A966
TIMECODE_SCALE = 0x2AD7B1
MUXING_APP = 0x4D80
WRITING_APP = 0x5741
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_NUMBER = 0xD7
TRACK_UID = 0x73C5
TRACK_TYPE = 0x83
TRACK_NAME = 0x536E
CODEC_ID = 0x86
CODEC_PRIVATE = 0x63A2
DEFAULT_DURATION = 0x23E383
AUDIO = 0xE1
SAMPLING_FREQUENCY = 0xB5
CHANNELS = 0x9F
BIT_DEPTH = 0x6264
CLUSTER = 0x1F43B675
TIMECODE = 0xE7
POSITION = 0xA7
PREV_SIZE = 0xAB
SIMPLE_BLOCK = 0xA3
BLOCK_GROUP = 0xA0
BLOCK = 0xA1
BLOCK_DURATION = 0x9B
CUES = 0x1C53BB6B
TAGS = 0x1254C367
TAG = 0x7373
TARGETS = 0x63C0
SIMPLE_TAG = 0x67C8
TAG_NAME = 0x45A3
TAG_STRING = 0x4487
VOID = 0xEC
CRC32 = 0xBF
CHAPTERS = 0x1043A770
ATTACHMENTS = 0x1941A469

# EBML header children
EBML_VERSION = 0x4286
EBML_READ_VERSION = 0x42F7
EBML_MAX_ID_LENGTH = 0x42F2
EBML_MAX_SIZE_LENGTH = 0x42F3
DOC_TYPE = 0x4282
DOC_TYPE_VERSION = 0x4287
DOC_TYPE_READ_VERSION = 0x4285

MAGIC = EBML.to_bytes(4, "big")  # every KVS fragment starts with an EBML header
_VERSION_ID = EBML_VERSION.to_bytes(2, "big")
FRAGMENT_HEAD = 4 + 8 + 2  # the most bytes fragment_start_in reads from a candidate


def fragment_start_in(buf: bytes | bytearray, a: int, b: int) -> int:
    """Offset of the first fragment start (EBML header id, a size, then EBMLVersion) that
    begins in buf[a:b], or -1; a candidate whose bytes are not all in buf yet does not count.

    Inside an element's body this is damage, not data: a corrupted size made the element claim
    the next fragment(s), whose audio would be lost, or placed as this block's samples (another
    call's audio on a reused stream)."""
    end = b + len(MAGIC) - 1  # find() wants the whole id inside [a, end)
    at = buf.find(MAGIC, a, end)
    while at >= 0:
        first = buf[at + 4] if at + 4 < len(buf) else 0
        if first:
            s = at + 4 + 9 - first.bit_length()
            if buf[s : s + 2] == _VERSION_ID:
                return at
        at = buf.find(MAGIC, at + 1, end)
    return -1


def read_id(
    buf: bytes | bytearray | memoryview, pos: int, end: int, base: int = 0
) -> tuple[int, int] | None:
    """(element id with marker bits, length) at pos, or None if the buffer ends first.

    `base`: the stream offset of buf[0], so an error names the offset in the stream (a reader's
    buffer starts wherever its last compaction left it)."""
    if pos >= end:
        return None
    first = buf[pos]
    if first >= 0x80:
        return first, 1
    if first >= 0x40:
        length = 2
    elif first >= 0x20:
        length = 3
    elif first >= 0x10:
        length = 4
    else:
        raise MediaError(f"invalid EBML element id byte 0x{first:02x} at offset {base + pos}")
    if pos + length > end:
        return None
    return int.from_bytes(buf[pos : pos + length], "big"), length


def read_size(
    buf: bytes | bytearray | memoryview, pos: int, end: int, base: int = 0
) -> tuple[int, int] | None:
    """(data size or UNKNOWN, length) of the size field at pos, or None if the buffer ends first
    (`base` as for read_id)."""
    if pos >= end:
        return None
    first = buf[pos]
    if first == 0:
        raise MediaError(f"invalid EBML size field at offset {base + pos}")
    length = 9 - first.bit_length()
    if pos + length > end:
        return None
    value = first & (0xFF >> length)
    if length > 1:
        value = (value << (8 * (length - 1))) | int.from_bytes(buf[pos + 1 : pos + length], "big")
    if value == (1 << (7 * length)) - 1:
        return UNKNOWN, length
    return value, length


def read_vint(buf: bytes | bytearray | memoryview, pos: int, end: int) -> tuple[int, int] | None:
    """A plain EBML varint (marker removed, all-ones NOT special), e.g. a block's track number."""
    if pos >= end:
        return None
    first = buf[pos]
    if first == 0:
        raise MediaError(f"invalid EBML varint at offset {pos}")
    length = 9 - first.bit_length()
    if pos + length > end:
        return None
    value = first & (0xFF >> length)
    for i in range(1, length):
        value = (value << 8) | buf[pos + i]
    return value, length


def read_uint(data: bytes | bytearray | memoryview) -> int:
    """Unsigned integer element payload (0-8 bytes, big-endian)."""
    if len(data) > 8:
        raise MediaError(f"unsigned integer element of {len(data)} bytes")
    return int.from_bytes(data, "big")


def read_float(data: bytes | bytearray | memoryview) -> float:
    """Float element payload (0, 4 or 8 bytes)."""
    if len(data) == 0:
        return 0.0
    if len(data) == 4:
        return float(struct.unpack(">f", data)[0])
    if len(data) == 8:
        return float(struct.unpack(">d", data)[0])
    raise MediaError(f"float element of {len(data)} bytes")


def read_string(data: bytes | bytearray | memoryview) -> str:
    """String element payload: NUL padding removed, decoded as UTF-8 (bad bytes replaced)."""
    raw = bytes(data)
    cut = raw.find(b"\x00")
    if cut >= 0:
        raw = raw[:cut]
    return raw.decode("utf-8", errors="replace")


# --- writing -------------------------------------------------------------------------------


def encode_id(element_id: int) -> bytes:
    """Element id bytes (ids already carry their marker bits)."""
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def encode_size(size: int, length: int | None = None) -> bytes:
    """A size field; `length` forces a width (KVS writes 4- and 8-byte sizes); -1 = unknown."""
    if size == UNKNOWN:
        length = length or 1
        return bytes([0xFF >> (length - 1)]) + b"\xff" * (length - 1)
    if length is None:
        length = 1
        while size >= (1 << (7 * length)) - 1:
            length += 1
    if length > 8 or size >= (1 << (7 * length)) - 1:
        raise ValueError(f"size {size} does not fit in {length} bytes")
    return (size | (1 << (7 * length))).to_bytes(length, "big")


def encode_vint(value: int) -> bytes:
    """A plain varint of minimal width (block track numbers)."""
    length = 1
    while value >= (1 << (7 * length)) - 1:
        length += 1
    return (value | (1 << (7 * length))).to_bytes(length, "big")


def element(element_id: int, payload: bytes, size_length: int | None = None) -> bytes:
    """One complete element: id, size, payload."""
    return encode_id(element_id) + encode_size(len(payload), size_length) + payload


def uint_element(element_id: int, value: int, width: int | None = None) -> bytes:
    """Unsigned integer element (minimal width unless `width` is given)."""
    n = width if width is not None else max(1, (value.bit_length() + 7) // 8)
    return element(element_id, value.to_bytes(n, "big"))


def float_element(element_id: int, value: float) -> bytes:
    """8-byte float element."""
    return element(element_id, struct.pack(">d", value))


def string_element(
    element_id: int, value: str, pad_to: int = 0, size_length: int | None = None
) -> bytes:
    """String element, optionally NUL-padded (the KVS C producer pads names to 32 bytes)."""
    raw = value.encode("utf-8")
    if len(raw) < pad_to:
        raw += b"\x00" * (pad_to - len(raw))
    return element(element_id, raw, size_length)
