"""The package layer's build (layers/siprec_recorder/Makefile, run by `sam build`) ships bytecode.

Lambda's file system is read-only, so a module without a shipped .pyc is compiled again on every
cold start. The checks below use Python's own definitions (importlib's cache path, PEP 552's
header flags, `python -v`'s import log), not the Makefile's.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "layers" / "siprec_recorder" / "siprec_recorder"
PEP552_UNCHECKED_HASH = 0b01  # hash-based, check_source off


def build(tmp_path: Path) -> Path:
    out = tmp_path / "artifacts"
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(PACKAGE.parent),
            "build-PackageLayer",
            f"ARTIFACTS_DIR={out}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        capture_output=True,
    )
    return out / "python" / "siprec_recorder"


def files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_every_module_ships_an_unchecked_hash_pyc_and_no_file_is_lost(tmp_path: Path) -> None:
    layer = build(tmp_path)
    assert files(layer) == files(PACKAGE) - {p for p in files(PACKAGE) if p.endswith(".pyc")}
    sources = sorted(layer.rglob("*.py"))
    assert len(sources) > 50
    for source in sources:
        pyc = Path(importlib.util.cache_from_source(str(source)))
        assert pyc.is_file(), f"no bytecode for {source.relative_to(layer)}"
        header = pyc.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(header[4:8], "little") == PEP552_UNCHECKED_HASH


def test_python_loads_the_shipped_bytecode_even_after_the_source_times_change(
    tmp_path: Path,
) -> None:
    layer = build(tmp_path)
    source = layer / "media" / "mkv.py"
    os.utime(source, (1_000_000_000, 1_000_000_000))  # as a zip may restore it
    env = {**os.environ, "PYTHONPATH": str(layer.parent), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-v", "-c", "import siprec_recorder.media.mkv as m; print(m.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == str(source)
    pyc = importlib.util.cache_from_source(str(source))
    assert f"code object from '{pyc}'" in proc.stderr
