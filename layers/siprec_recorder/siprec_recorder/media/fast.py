"""Decoder fast path: a regular run of SimpleBlocks parsed at once with numpy.

Chime writes each fragment's Cluster as ~100 SimpleBlocks of identical layout: same id, same size
field, same one-byte track number, same flags (no lacing); only the 2-byte timecode differs. Such a
run is viewed as a 2-D array (one row per block), every header byte except the timecode is checked
against the first block's, and the run ends at the first row that differs. The result is exactly
what the general path would produce for those bytes (same frames, times and payloads); anything
irregular (lacing, a multi-byte track number, a size change, the end of the buffer or of the
Cluster) falls back to the general reader for that block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from siprec_recorder.media import ebml as e
from siprec_recorder.media.events import FrameRun

if TYPE_CHECKING:
    from siprec_recorder.media.mkv import MkvReader

MIN_RUN = 2
_INT64_SAFE = 1 << 62


def take_run(
    reader: MkvReader, buf: bytearray, pos: int, limit: int
) -> tuple[FrameRun, int] | None:
    """(FrameRun, position after it) for the SimpleBlocks at buf[pos:limit], or None."""
    cluster_tc = reader.cluster_tc
    if cluster_tc is None:
        return None
    got = e.read_size(buf, pos + 1, limit, reader._base)  # the id is the single byte 0xA3
    if got is None:
        return None
    size, sl = got
    hl = 1 + sl
    stride = hl + size
    count = (limit - pos) // stride
    if size < 4 or size > (16 << 20) or count < MIN_RUN:
        return None
    track_byte = buf[pos + hl]
    flags = buf[pos + hl + 3]
    if track_byte < 0x80 or flags & 0x06:
        return None  # multi-byte track number or laced: general path
    track = track_byte & 0x7F
    timing = reader.timing(track)
    if timing is None:
        return None
    fmt, default_ns = timing
    start_ns = reader.block_time_ns(cluster_tc)
    scale = reader.block_time_ns(cluster_tc + 1) - start_ns
    if abs(start_ns) + 32768 * abs(scale) >= _INT64_SAFE:
        return None
    rows = np.frombuffer(buf, dtype=np.uint8, count=count * stride, offset=pos).reshape(
        count, stride
    )
    head = rows[:, : hl + 4]
    same = head == head[0]
    same[:, hl + 1 : hl + 3] = True  # the block timecode may differ
    ok = same.all(axis=1)
    k = count if bool(ok.all()) else int(np.argmin(ok))
    if k < MIN_RUN or not reader.first_block_is_whole(buf, pos + hl, pos + stride, size):
        return None
    tc = (rows[:k, hl + 1].astype(np.int64) << 8) | rows[:k, hl + 2]
    tc = np.where(tc >= 0x8000, tc - 0x10000, tc)
    times = np.int64(start_ns) + tc * np.int64(scale)
    payload = rows[:k, hl + 4 :].tobytes()
    frame_size = size - 4
    duration = fmt.duration_ns(frame_size) if fmt is not None else default_ns
    del rows, head, same  # release the view of buf before the reader compacts it
    reader._block_size = size
    return FrameRun(track, times, payload, frame_size, duration), pos + k * stride
