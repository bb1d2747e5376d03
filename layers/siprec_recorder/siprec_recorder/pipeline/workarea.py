"""Where a long call's finished streams wait between two recorder invocations.

A Lambda invocation stops at 15 minutes. The recorder decodes stream by stream; when its time
budget runs out it saves each finished stream's PCM and counters here, checkpoints the call and
requeues it, and the next invocation continues with the streams still missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class WorkArea(Protocol):
    """Named files that outlive one invocation (S3 under `work/<transaction id>/`)."""

    def save(self, name: str, path: Path) -> None: ...

    def load(self, name: str, path: Path) -> bool:
        """Copy the named file to `path`; False when it is not there."""
        ...
