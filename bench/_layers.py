"""The two Lambda layers as `sam build` makes them, built for this machine for the benchmarks.

The layers' Makefiles (the ones `sam build` runs) build them into bench/out/layers/: the package
layer every time (it is small), the dependency layer when its requirements or Makefile changed
(pip downloads its wheels; PLATFORM= gives this machine's instead of arm64's). `source_only`
copies a built layer without its bytecode: what SAM's own Python builder shipped, to compare.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench._measure import OUT, REPO_ROOT

LAYERS = OUT / "layers"


@dataclass(frozen=True)
class Layers:
    """The python/ folders of the built layers (what Lambda puts on sys.path from /opt)."""

    package: Path
    deps: Path

    def pythonpath(self) -> str:
        """PYTHONPATH putting the layers first, as /opt/python comes before the runtime's."""
        return os.pathsep.join([str(self.package), str(self.deps)])


def _make(folder: str, target: str, artifacts: Path, *extra: str) -> None:
    proc = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(REPO_ROOT / "layers" / folder),
            target,
            f"ARTIFACTS_DIR={artifacts}",
            f"PYTHON={sys.executable}",
            *extra,
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise RuntimeError(f"building layers/{folder} failed: {' '.join(tail)}")


def _stale(stamp: Path, *inputs: Path) -> bool:
    return not stamp.exists() or any(p.stat().st_mtime > stamp.stat().st_mtime for p in inputs)


def package_layer() -> Path:
    """The package layer's python/ folder, built now (with its bytecode)."""
    package = LAYERS / "package"
    _make("siprec_recorder", "build-PackageLayer", package)
    return package / "python"


def build_layers() -> Layers:
    """Both layers for this machine, with their bytecode, as the template builds them."""
    package = package_layer()
    deps = LAYERS / "deps"
    stamp = LAYERS / "deps.stamp"
    folder = REPO_ROOT / "layers" / "deps"
    if _stale(stamp, folder / "requirements.txt", folder / "Makefile"):
        stamp.unlink(missing_ok=True)
        _make("deps", "build-DepsLayer", deps, "PLATFORM=")
        stamp.touch()
    return Layers(package, deps / "python")


def source_only(layers: Layers) -> Layers:
    """Copies of the layers without any .pyc (refreshed on every call)."""
    out = []
    for name, path in (("package", layers.package), ("deps", layers.deps)):
        target = LAYERS / "source-only" / name / "python"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
        out.append(target)
    return Layers(out[0], out[1])
