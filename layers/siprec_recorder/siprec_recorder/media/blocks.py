"""Block / SimpleBlock bodies: track number, relative timecode, and lacing (Xiph, EBML, fixed).

mkvmerge laces PCM by default (fixed-size lacing), so a block may carry several frames.
"""

from __future__ import annotations

from siprec_recorder.errors import MediaError
from siprec_recorder.media.ebml import read_vint


def parse_block(body: bytes | bytearray | memoryview) -> tuple[int, int, list[tuple[int, int]]]:
    """(track number, signed relative timecode, [(start, end) of each frame in `body`])."""
    end = len(body)
    got = read_vint(body, 0, end)
    if got is None or got[1] + 3 > end:
        raise MediaError("block shorter than its header")
    track, pos = got
    tc = int.from_bytes(body[pos : pos + 2], "big", signed=True)
    flags = body[pos + 2]
    pos += 3
    lacing = (flags >> 1) & 3
    if lacing == 0:
        return track, tc, [(pos, end)]
    if pos >= end:
        raise MediaError("laced block without a frame count")
    count = body[pos] + 1
    pos += 1
    sizes: list[int] = []
    if lacing == 1:  # Xiph: each size is a run of 255s plus a final byte
        for _ in range(count - 1):
            size = 0
            while True:
                if pos >= end:
                    raise MediaError("Xiph lacing runs past the block")
                byte = body[pos]
                pos += 1
                size += byte
                if byte != 255:
                    break
            sizes.append(size)
    elif lacing == 3:  # EBML: first size, then signed differences
        got = read_vint(body, pos, end)
        if got is None:
            raise MediaError("EBML lacing runs past the block")
        size, n = got
        pos += n
        sizes.append(size)
        for _ in range(count - 2):
            got = read_vint(body, pos, end)
            if got is None:
                raise MediaError("EBML lacing runs past the block")
            raw, n = got
            pos += n
            size += raw - ((1 << (7 * n - 1)) - 1)
            if size < 0:
                raise MediaError("EBML lacing gives a negative frame size")
            sizes.append(size)
    else:  # fixed-size lacing
        total = end - pos
        if total % count:
            raise MediaError("fixed-size lacing does not divide the block evenly")
        sizes = [total // count] * (count - 1)
    last = end - pos - sum(sizes)
    if last < 0:
        raise MediaError("laced frame sizes exceed the block")
    sizes.append(last)
    frames = []
    for size in sizes:
        frames.append((pos, pos + size))
        pos += size
    return track, tc, frames
