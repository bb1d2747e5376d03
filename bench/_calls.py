"""Simulated calls on disk for the benchmarks, and checks that what a run wrote is right.

Long calls are generated once (in a fresh process, so the bench process never holds a 4-hour
call in memory) under bench/out/calls/ and reused. A benchmark of a wrong recording is
worthless, so every run is checked against the simulator's reference PCM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench._measure import OUT, measure_function

CALLS = OUT / "calls"
BLOCK = 1 << 20  # frames per compared block


@dataclass(frozen=True)
class CallFiles:
    """One simulated call on disk (the layout of `simulate/files.py`)."""

    root: Path
    info: dict[str, Any]

    @property
    def transaction_id(self) -> str:
        return str(self.info["transaction_id"])

    @property
    def duration_s(self) -> float:
        return (int(self.info["end_ms"]) - int(self.info["start_ms"])) / 1000

    @property
    def event_files(self) -> list[Path]:
        return [self.root / e for e in self.info["events"]]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in self.event_files]

    @property
    def media(self) -> dict[str, Path]:
        return {leg["stream_arn"]: self.root / leg["media_file"] for leg in self.info["legs"]}

    @property
    def references(self) -> dict[str, Path]:
        """Each leg's source PCM (a WAV), by media label."""
        return {leg["label"]: self.root / leg["reference_wav"] for leg in self.info["legs"]}


def generate(duration_s: float, seed: int, out: str) -> dict[str, Any]:
    """Simulate a two-party call and write it under `out` (runs in a child process)."""
    from siprec_recorder.simulate import simulate_call
    from siprec_recorder.simulate.files import write_call

    call = simulate_call(duration_s=duration_s, seed=seed)
    write_call(call, out)
    return {"transaction_id": call.transaction_id}


def call_files(duration_s: float, seed: int) -> CallFiles:
    """The call of this length and seed, generated now unless bench/out already holds it."""
    root = CALLS / f"call-{int(duration_s)}s-seed{seed}"
    manifest = root / "call.json"
    if not _complete(root):
        measure_function(
            "bench._calls:generate", duration_s, seed, str(root), timeout_s=1800
        ).check(f"simulating a {duration_s} s call")
    return CallFiles(root, json.loads(manifest.read_text()))


def _complete(root: Path) -> bool:
    manifest = root / "call.json"
    if not manifest.is_file():
        return False
    info = json.loads(manifest.read_text())
    files = [root / e for e in info["events"]]
    files += [root / leg[k] for leg in info["legs"] for k in ("media_file", "reference_wav")]
    return all(f.is_file() and f.stat().st_size > 0 for f in files)


def wav_equal(a: Path, b: Path) -> bool:
    """Same sample rate, channel count and int16 samples (compared a block at a time)."""
    import soundfile as sf

    with sf.SoundFile(str(a)) as fa, sf.SoundFile(str(b)) as fb:
        if (fa.samplerate, fa.channels, fa.frames) != (fb.samplerate, fb.channels, fb.frames):
            return False
        while True:
            xa = fa.read(BLOCK, dtype="int16")
            xb = fb.read(BLOCK, dtype="int16")
            if not np.array_equal(xa, xb):
                return False
            if len(xa) == 0:
                return True


def check_manifest(manifest: dict[str, Any], call: CallFiles) -> list[str]:
    """What is wrong with a manifest for this call (empty when it is the expected one)."""
    problems = []
    if manifest.get("transaction_id") != call.transaction_id:
        problems.append("manifest names another transaction")
    labels = {p.get("label") for p in manifest.get("participants", [])}
    if labels != set(call.references):
        got, want = sorted(map(str, labels)), sorted(call.references)
        problems.append(f"participants {got} != legs {want}")
    if manifest.get("one_way"):
        problems.append("recorded one-way")
    return problems


def check_folder(folder: Path, manifest: dict[str, Any], call: CallFiles) -> list[str]:
    """The manifest's per-party files under `folder` equal the simulator's reference PCM."""
    problems = check_manifest(manifest, call)
    for party in manifest.get("participants", []):
        ref = call.references.get(str(party.get("label")))
        key = party.get("key")
        if ref is None or not key:
            problems.append(f"participant {party.get('label')} has no reference or key")
        elif not wav_equal(folder / key, ref):
            problems.append(f"participant {party.get('label')} audio differs from the source")
    return problems
