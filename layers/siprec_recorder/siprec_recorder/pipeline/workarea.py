"""Where a long call's finished streams wait between two recorder invocations.

A Lambda invocation stops at 15 minutes. The recorder decodes stream by stream; when its time
budget runs out it saves each finished stream's PCM and counters here, checkpoints the call and
requeues it, and the next invocation continues with the streams still missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol


class WorkArea(Protocol):
    """Named files that outlive one invocation (S3 under `work/<transaction id>/`, or a folder)."""

    def save(self, name: str, path: Path) -> None: ...

    def load(self, name: str, path: Path) -> bool:
        """Copy the named file to `path`; False when it is not there."""
        ...


class DirectoryWorkArea:
    """A folder (the offline `process` command and tests)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, name: str, path: Path) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)

    def load(self, name: str, path: Path) -> bool:
        source = self.root / name
        if not source.is_file():
            return False
        shutil.copyfile(source, path)
        return True
