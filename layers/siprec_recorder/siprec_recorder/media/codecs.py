"""Audio codecs a Matroska track may carry, decoded to int16 PCM.

Chime writes `A_PCM/INT/LIT` (audio/L16, 8 kHz mono). Other muxers store big-endian PCM as
`A_PCM/INT/BIG` and G.711 as `A_MS/ACM` with a WAVEFORMATEX CodecPrivate (format tag 6 = A-law,
7 = µ-law, 1 = PCM). Anything else that claims to be audio is refused with the codec named, so a
recording never silently comes out empty.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from siprec_recorder.errors import MediaError
from siprec_recorder.media.pcm import Int16Array

if TYPE_CHECKING:
    from siprec_recorder.media.events import TrackEntry

S16LE = "s16le"
S16BE = "s16be"
U8 = "u8"
MULAW = "mulaw"
ALAW = "alaw"
_BYTES = {S16LE: 2, S16BE: 2, U8: 1, MULAW: 1, ALAW: 1}
_WAVE_TAGS = {6: ALAW, 7: MULAW}
# voice: telephony is 8 kHz, wideband 16 kHz, full band 48 kHz. A higher rate in a call's
# stream is broken or hostile, and would multiply what a timestamp gap asks to write.
MAX_SAMPLE_RATE = 48_000


def _ulaw_table() -> Int16Array:
    """ITU-T G.711 µ-law expansion of every byte value."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 7
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> Int16Array:
    """ITU-T G.711 A-law expansion of every byte value (even bits inverted with 0x55)."""
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (a >> 4) & 7
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


ULAW_TABLE = _ulaw_table()
ALAW_TABLE = _alaw_table()


@dataclass(frozen=True)
class AudioFormat:
    """How to turn a track's frame payloads into int16 samples."""

    codec: str  # the Matroska CodecID (for reports)
    kind: str  # one of S16LE, S16BE, U8, MULAW, ALAW
    sample_rate: int
    channels: int

    @property
    def bytes_per_frame(self) -> int:
        """Bytes per sample instant (all channels)."""
        return _BYTES[self.kind] * self.channels

    def samples_in(self, nbytes: int) -> int:
        """Sample instants in a payload of `nbytes` bytes."""
        return nbytes // self.bytes_per_frame

    def duration_ns(self, nbytes: int) -> int:
        """Duration of a payload, exact to the nanosecond (floor)."""
        return self.samples_in(nbytes) * 1_000_000_000 // self.sample_rate


def track_format(entry: TrackEntry) -> AudioFormat | None:
    """audio_format() of a Tracks entry (the reader and the decoder both need it)."""
    return audio_format(
        entry.codec_id,
        track_type=entry.track_type,
        codec_private=entry.codec_private,
        sample_rate=entry.sample_rate,
        channels=entry.channels,
        bit_depth=entry.bit_depth,
    )


def audio_format(
    codec_id: str,
    *,
    track_type: int | None,
    codec_private: bytes,
    sample_rate: float | None,
    channels: int | None,
    bit_depth: int | None,
) -> AudioFormat | None:
    """The decodable format of a track; None for non-audio; MediaError for audio we can't decode."""
    is_audio = track_type == 2 or codec_id.startswith("A_")
    if not is_audio:
        return None
    if sample_rate is not None and not math.isfinite(sample_rate):
        raise MediaError(f"audio track with an invalid sampling frequency {sample_rate!r}")
    rate = round(sample_rate) if sample_rate else 8000  # Matroska default SamplingFrequency
    chans = channels or 1
    if rate <= 0 or rate > MAX_SAMPLE_RATE:
        raise MediaError(f"audio track with an invalid sampling frequency {sample_rate!r}")
    if chans != 1:
        raise MediaError(f"{codec_id} track with {chans} channels: only mono audio is supported")
    kind: str | None = None
    if codec_id == "A_PCM/INT/LIT":
        kind = {16: S16LE, 8: U8, None: S16LE}.get(bit_depth)
    elif codec_id == "A_PCM/INT/BIG":
        kind = {16: S16BE, None: S16BE}.get(bit_depth)
    elif codec_id == "A_MS/ACM":
        kind = _acm_kind(codec_private)
    if kind is None:
        depth = f" {bit_depth}-bit" if bit_depth else ""
        raise MediaError(f"unsupported audio codec {codec_id[:40]}{depth}")
    return AudioFormat(codec_id, kind, rate, chans)


def _acm_kind(private: bytes) -> str | None:
    """The sample kind of an A_MS/ACM track from its WAVEFORMATEX header."""
    if len(private) < 16:
        raise MediaError("A_MS/ACM track without a WAVEFORMATEX codec private")
    tag, _chans, _rate, _avg, _align, bits = struct.unpack_from("<HHIIHH", private)
    if tag == 1:
        return {16: S16LE, 8: U8}.get(bits)
    return _WAVE_TAGS.get(tag)


def decode(fmt: AudioFormat, payload: bytes | bytearray | memoryview) -> Int16Array:
    """One frame's payload as int16 samples (a trailing partial sample is ignored)."""
    usable = len(payload) - len(payload) % fmt.bytes_per_frame
    if fmt.kind == S16LE:
        return np.frombuffer(payload, dtype="<i2", count=usable // 2)
    if fmt.kind == S16BE:
        return np.frombuffer(payload, dtype=">i2", count=usable // 2).astype(np.int16)
    raw = np.frombuffer(payload, dtype=np.uint8, count=usable)
    if fmt.kind == MULAW:
        return ULAW_TABLE[raw]
    if fmt.kind == ALAW:
        return ALAW_TABLE[raw]
    return ((raw.astype(np.int16) - 128) << 8).astype(np.int16)  # U8
