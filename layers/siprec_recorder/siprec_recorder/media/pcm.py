"""PcmSpool: mono 16-bit little-endian PCM appended to a temporary file.

Audio for a call of any length never has to sit in memory: the decoder appends to a spool and the
assembly reads it back in windows. Sample index == position on the track's timeline.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
BYTES_PER_SAMPLE = 2


class PcmSpool:
    """Append-only mono int16 PCM on disk, readable in windows (zero-padded past the end)."""

    def __init__(self, sample_rate: int, directory: str | Path | None = None) -> None:
        self.sample_rate = sample_rate
        fd, name = tempfile.mkstemp(prefix="pcm-", suffix=".raw", dir=directory)
        self._file = os.fdopen(fd, "w+b")
        self.path = Path(name)
        self.samples = 0

    def append(self, pcm: Int16Array | bytes) -> None:
        """Append samples (an int16 array, or raw little-endian bytes of an even length)."""
        data = (
            pcm
            if isinstance(pcm, bytes | bytearray | memoryview)
            else np.ascontiguousarray(pcm, dtype="<i2").tobytes()
        )
        if len(data) % BYTES_PER_SAMPLE:
            raise ValueError("PCM byte count must be even")
        self._file.seek(0, os.SEEK_END)
        self._file.write(data)
        self.samples += len(data) // BYTES_PER_SAMPLE

    def append_silence(self, count: int) -> None:
        """Append `count` zero samples, in bounded pieces so a long gap costs no memory."""
        step = 1 << 20
        while count > 0:
            n = min(step, count)
            self._file.seek(0, os.SEEK_END)
            self._file.write(bytes(n * BYTES_PER_SAMPLE))
            self.samples += n
            count -= n

    def read(self, start: int, count: int) -> Int16Array:
        """Samples [start, start+count); positions before 0 or past the end read as silence."""
        out = np.zeros(count, dtype=np.int16)
        lo, hi = max(start, 0), min(start + count, self.samples)
        if hi > lo:
            self._file.flush()
            self._file.seek(lo * BYTES_PER_SAMPLE)
            raw = self._file.read((hi - lo) * BYTES_PER_SAMPLE)
            out[lo - start : hi - start] = np.frombuffer(raw, dtype="<i2")
        return out

    def read_all(self) -> Int16Array:
        """Every sample (for tests and short calls; the pipeline reads in windows)."""
        return self.read(0, self.samples)

    def flush(self) -> None:
        """Push buffered samples to the file (before another process or copy reads it)."""
        self._file.flush()

    def reopen(self) -> None:
        """Re-open the spool's path after its content was replaced (restored from a checkpoint)."""
        self._file.close()
        self._file = self.path.open("r+b")
        self.samples = self.path.stat().st_size // BYTES_PER_SAMPLE

    def close(self) -> None:
        """Close and delete the spool file."""
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> PcmSpool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
