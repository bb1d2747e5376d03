"""Voice-like test audio: two parties a listener can tell apart, taking turns.

Not speech, but close enough to exercise the pipeline and to be told apart by ear: a harmonic
source at a drifting pitch, vowel-like spectral colour per syllable, a syllable-rate amplitude
envelope, phrases with pauses, and a faint noise floor (so a leg is never digital silence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from siprec_recorder.media.pcm import Int16Array

SAMPLE_RATE = 8000
Float = npt.NDArray[np.float64]
# (F1, F2) in Hz of a few vowels: colour per syllable
VOWELS = ((730, 1090), (270, 2290), (530, 1840), (570, 840), (300, 870), (660, 1720))


@dataclass(frozen=True)
class Voice:
    """How one party sounds: pitch, pitch movement, speaking rate and loudness."""

    f0_hz: float
    f0_spread: float  # relative pitch movement
    syllables_per_s: float
    peak: float  # linear, of full scale


CUSTOMER = Voice(f0_hz=115.0, f0_spread=0.12, syllables_per_s=3.6, peak=0.30)
AGENT = Voice(f0_hz=215.0, f0_spread=0.18, syllables_per_s=5.2, peak=0.25)
NOISE_FLOOR = 24.0  # samples RMS: a quiet line, never all zeros


def turn_schedule(duration_s: float, rng: np.random.Generator) -> list[tuple[int, float, float]]:
    """Alternating turns (party 0 = customer, 1 = agent) as (party, start_s, end_s)."""
    turns: list[tuple[int, float, float]] = []
    t, party = 0.4, 1  # the agent greets first
    while t < duration_s:
        length = float(rng.uniform(1.8, 6.0))
        end = min(t + length, duration_s)
        turns.append((party, t, end))
        t = end + float(rng.uniform(0.25, 0.9))
        party = 1 - party
    return turns


def speak(
    voice: Voice, spans: list[tuple[float, float]], n: int, rng: np.random.Generator
) -> Float:
    """Float signal (-1..1) of `n` samples with speech-like sound in the (start_s, end_s) spans."""
    out = np.zeros(n)
    for start_s, end_s in spans:
        a, b = max(0, int(start_s * SAMPLE_RATE)), min(n, int(end_s * SAMPLE_RATE))
        if b - a > SAMPLE_RATE // 10:
            out[a:b] = _phrase(voice, b - a, rng)
    return out


def _phrase(voice: Voice, n: int, rng: np.random.Generator) -> Float:
    t = np.arange(n) / SAMPLE_RATE
    # pitch: slow random intonation plus a falling phrase contour
    knots = max(2, int(n / SAMPLE_RATE * 3) + 2)
    contour = np.interp(t, np.linspace(0, t[-1], knots), rng.normal(0, voice.f0_spread, knots))
    f0 = voice.f0_hz * (1 + contour) * (1.05 - 0.1 * t / max(t[-1], 1e-9))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    # syllables: each gets a vowel and a raised-cosine envelope
    syl_len = int(SAMPLE_RATE / voice.syllables_per_s)
    bounds = list(range(0, n, syl_len)) + [n]
    seg = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    vowels = rng.integers(0, len(VOWELS), len(bounds) - 1)
    env = np.concatenate(
        [
            np.sin(np.pi * np.arange(b - a) / max(b - a, 1)) ** 1.5
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
    )
    env *= rng.uniform(0.5, 1.0, len(bounds) - 1)[seg]
    signal = np.zeros(n)
    max_k = int(3400 // (voice.f0_hz * (1 + 2 * voice.f0_spread)))
    f1 = np.array([VOWELS[v][0] for v in vowels], dtype=float)
    f2 = np.array([VOWELS[v][1] for v in vowels], dtype=float)
    for k in range(1, max_k + 1):
        freq = k * voice.f0_hz
        weight = (
            np.exp(-(((freq - f1) / 180.0) ** 2))
            + 0.6 * np.exp(-(((freq - f2) / 220.0) ** 2))
            + 0.15 / k
        )
        signal += weight[seg] * np.sin(k * phase)
    signal *= env
    peak = float(np.max(np.abs(signal))) or 1.0
    return np.asarray(signal / peak * voice.peak, dtype=np.float64)


def to_pcm(signal: Float, rng: np.random.Generator) -> Int16Array:
    """Scale to int16 and add the noise floor (never digital silence)."""
    noisy = signal * 32767.0 + rng.normal(0.0, NOISE_FLOOR, len(signal))
    return np.clip(np.round(noisy), -32768, 32767).astype(np.int16)
