"""Process tuning of the decode command (media/tuning.py), checked in fresh processes."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = (
    "import os, sys; from siprec_recorder.media.tuning import tune_process; "
    "print(tune_process(), os.environ['OPENBLAS_NUM_THREADS'], 'numpy' in sys.modules)"
)


def run(env: dict[str, str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_glibc_takes_the_thresholds_and_blas_gets_one_thread() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    # glibc (this Debian image) accepts every mallopt; the module itself does not import numpy
    assert run(env) == ["True", "1", "False"]


def test_an_explicit_thread_count_is_kept() -> None:
    assert run({**os.environ, "OPENBLAS_NUM_THREADS": "3"})[1] == "3"
