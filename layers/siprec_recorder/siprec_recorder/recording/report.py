"""A one-page PNG per call: each party's level over time, gaps and silence, one-way flagged.

A reviewer sees in seconds whether both sides were recorded for the whole call. Levels are RMS
dBFS per 100 ms, read window by window (memory stays flat for any call length). Windows of exact
digital zero are marked as "no media" (the pipeline fills gaps in the stream with zeros); windows
below -60 dBFS as silence. A party the one-way check flagged is drawn in red with a banner.
The title carries the interaction id and each party's role and stream label only: names and
numbers stay out of the image, which may be pasted into tickets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

WINDOW_SECONDS = 0.1
WINDOWS_PER_READ = 600  # one minute of 100 ms windows per read
SILENCE_DBFS = -60.0
FLOOR_DBFS = -90.0
RED = "#d62728"
BLUE = "#1f77b4"
GAP_COLOUR = "#ff9f1c"
SILENCE_COLOUR = "#d9d9d9"
DPI = 100


@dataclass
class Row:
    """One plotted track: who, where on the call timeline, and its per-window levels."""

    title: str
    offset_s: float
    levels: npt.NDArray[np.float64]  # dBFS per window, FLOOR_DBFS for digital zero
    zero: npt.NDArray[np.bool_]  # window is exact digital zero (no media)
    one_way: bool
    note: str


def render_report(
    manifest: Mapping[str, Any], audio_paths: Mapping[str, Path], out_path: Path
) -> None:
    """Render the call's level report to `out_path` (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = _rows(manifest, audio_paths)
    missing = _one_way_labels(manifest)
    height = 1.3 + 1.7 * max(len(rows), 1) + (0.4 if missing else 0)
    fig = Figure(figsize=(11, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.suptitle(_title(manifest), fontsize=10, x=0.01, ha="left")
    if missing:
        fig.text(
            0.01,
            1 - 0.62 / height,
            f"ONE-WAY AUDIO: {_one_way_text(manifest)}",
            color="white",
            backgroundcolor=RED,
            fontsize=9,
            fontweight="bold",
        )
    top = 1 - (0.95 + (0.4 if missing else 0)) / height
    fig.subplots_adjust(left=0.07, right=0.99, top=top, bottom=0.55 / height, hspace=0.55)
    end = max((r.offset_s + len(r.levels) * WINDOW_SECONDS for r in rows), default=1.0)
    axes = fig.subplots(max(len(rows), 1), 1, sharex=True, squeeze=False)[:, 0]
    for ax, row in zip(axes, rows, strict=False):
        _draw(ax, row)
    if not rows:
        axes[0].text(
            0.5,
            0.5,
            "no audio in this recording",
            ha="center",
            va="center",
            color=RED,
            transform=axes[0].transAxes,
        )
    for ax in axes:
        ax.set_xlim(0, max(end, WINDOW_SECONDS))
        ax.set_ylim(FLOOR_DBFS, 0)
        ax.set_ylabel("dBFS", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("seconds from the first audio of the call", fontsize=8)
    _legend(fig, 1 - 0.55 / height)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, format="png", metadata={"Software": None})


def window_levels(
    path: Path, channel: int | None = None, rate_hint: int = 8000
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """RMS dBFS per 100 ms window of one channel, and which windows are exact digital zero.

    Reads a minute at a time and reduces it to per-window values, so memory stays flat.
    """
    import soundfile as sf

    levels: list[npt.NDArray[np.float64]] = []
    zero: list[npt.NDArray[np.bool_]] = []
    with sf.SoundFile(str(path)) as snd:
        window = max(1, int(round((snd.samplerate or rate_hint) * WINDOW_SECONDS)))
        for block in _blocks(snd, window * WINDOWS_PER_READ):
            x = block if block.ndim == 1 else block[:, channel or 0]
            pad = -len(x) % window
            if pad:  # the last partial window: RMS over the samples it has
                count = np.full(len(x) // window + 1, window, dtype=np.float64)
                count[-1] = window - pad
                x = np.concatenate([x, np.zeros(pad)])
            else:
                count = np.full(len(x) // window, window, dtype=np.float64)
            rows = x.reshape(-1, window)
            rms = np.sqrt(np.square(rows).sum(axis=1) / count)
            with np.errstate(divide="ignore"):
                db = np.where(rms > 0, 20 * np.log10(np.maximum(rms, 1e-12)), FLOOR_DBFS)
            levels.append(np.maximum(db, FLOOR_DBFS))
            zero.append(~rows.any(axis=1))
    if not levels:
        return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.bool_)
    return np.concatenate(levels), np.concatenate(zero)


def _blocks(snd: Any, frames: int) -> Iterator[npt.NDArray[np.float64]]:
    while True:
        block = snd.read(frames, dtype="float64", always_2d=False)
        if len(block) == 0:
            return
        yield block


def _rows(manifest: Mapping[str, Any], audio_paths: Mapping[str, Path]) -> list[Row]:
    missing = _one_way_labels(manifest)
    rate = int(manifest.get("sample_rate") or 8000)
    rows: list[Row] = []
    parts = [p for p in manifest.get("participants", []) if isinstance(p, Mapping)]
    for p in parts:
        label = str(p.get("label"))
        path = audio_paths.get(label)
        title = f"{p.get('role') or 'unknown'} · label {label}" + (
            " · caller" if p.get("is_caller") else ""
        )
        note = f"gaps {p.get('gaps') or 0} ({float(p.get('gap_ms') or 0):.0f} ms)"
        if path is None:
            rows.append(
                Row(
                    title,
                    0.0,
                    np.zeros(0),
                    np.zeros(0, dtype=np.bool_),
                    label in missing,
                    "no audio file",
                )
            )
            continue
        levels, zero = window_levels(path, rate_hint=rate)
        rows.append(Row(title, _offset(p, manifest, rate), levels, zero, label in missing, note))
    if not any(len(r.levels) for r in rows) and "stereo" in audio_paths:
        rows = _stereo_rows(manifest, audio_paths["stereo"], missing, rate)
    return rows


def _stereo_rows(
    manifest: Mapping[str, Any], path: Path, missing: set[str], rate: int
) -> list[Row]:
    stereo = manifest.get("stereo") or {}
    rows = []
    for channel, side in enumerate(("left", "right")):
        labels = [str(x) for x in stereo.get(f"{side}_labels") or [stereo.get(side)] if x]
        levels, zero = window_levels(path, channel, rate)
        rows.append(
            Row(
                f"stereo {side} · labels {'+'.join(labels) or '-'}",
                0.0,
                levels,
                zero,
                bool(set(labels) & missing),
                "",
            )
        )
    return rows


def _offset(p: Mapping[str, Any], manifest: Mapping[str, Any], rate: int) -> float:
    if isinstance(p.get("offset_samples"), int):
        return float(p["offset_samples"]) / rate
    start, t0 = p.get("start_time"), manifest.get("audio_start_time") or manifest.get("start_time")
    try:
        delta = datetime.fromisoformat(str(start)) - datetime.fromisoformat(str(t0))
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, delta.total_seconds())


def _draw(ax: Any, row: Row) -> None:
    colour = RED if row.one_way else BLUE
    t = row.offset_s + np.arange(len(row.levels)) * WINDOW_SECONDS
    for start, stop in _runs((row.levels <= SILENCE_DBFS) & ~row.zero):
        ax.axvspan(t[start], t[stop - 1] + WINDOW_SECONDS, color=SILENCE_COLOUR, lw=0)
    for start, stop in _runs(row.zero):
        ax.axvspan(t[start], t[stop - 1] + WINDOW_SECONDS, color=GAP_COLOUR, alpha=0.6, lw=0)
    if row.one_way:
        for spine in ax.spines.values():
            spine.set_color(RED)
            spine.set_linewidth(2.5)
    if len(t):
        ax.step(t, row.levels, where="post", color=colour, lw=0.8)
    ax.axhline(SILENCE_DBFS, color="#888888", lw=0.5, ls=":")
    flag = "  ONE-WAY: silent or missing" if row.one_way else ""
    ax.set_title(
        f"{row.title}   {row.note}{flag}",
        fontsize=8,
        loc="left",
        color=colour if row.one_way else "black",
    )


def _legend(fig: Any, y: float) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(color=SILENCE_COLOUR, label=f"silence (below {SILENCE_DBFS:.0f} dBFS)"),
        Patch(color=GAP_COLOUR, alpha=0.6, label="no media (digital zero: gap or missing)"),
        Patch(color=RED, label="one-way: party silent or missing"),
    ]
    fig.legend(
        handles=handles,
        loc="upper right",
        bbox_to_anchor=(0.99, y),
        fontsize=7,
        ncols=3,
        frameon=False,
    )


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, stop) index runs where mask is True."""
    if not len(mask):
        return []
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def _one_way_labels(manifest: Mapping[str, Any]) -> set[str]:
    one_way = manifest.get("one_way")
    if not one_way:
        return set()
    if isinstance(one_way, Mapping):
        if one_way.get("detected") is False:
            return set()
        labels: Sequence[Any] = one_way.get("missing") or one_way.get("silent") or []
        return {str(x) for x in labels} or {"?"}
    return {"?"}


def _one_way_text(manifest: Mapping[str, Any]) -> str:
    labels = sorted(_one_way_labels(manifest) - {"?"})
    return "label " + ", ".join(labels) + " silent or missing" if labels else "flagged"


def _title(manifest: Mapping[str, Any]) -> str:
    parts = [p for p in manifest.get("participants", []) if isinstance(p, Mapping)]
    who = ", ".join(f"{p.get('role') or 'unknown'} (label {p.get('label')})" for p in parts)
    ident = manifest.get("interaction_id") or "none"
    return (
        f"Interaction {ident}   ·   transaction {manifest.get('transaction_id') or '-'}\n"
        f"{manifest.get('start_time') or ''}   ·   {who or 'no participants'}"
    )
