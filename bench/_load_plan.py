"""The load test's calls and its hostile event order (deterministic per seed).

Options vary by call index so every kind appears many times: media gaps, a late-joining agent,
a transfer (UPDATED), stream reuse, and a leg that never arrives (the sweeper must finish the
call one-way). The delivery order is the union of all calls' events shuffled, ~10 % delivered
twice, and some calls' events in exactly reversed order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

DUPLICATE_SHARE = 0.10
# The simulator's default start moves by `seed` hours: pin starts to the past (2025-11-26, one
# call every 37 s) so the sweeper's grace periods, which compare event times, behave.
START_MS = 1_764_139_200_000


@dataclass(frozen=True)
class Planned:
    """One load-test call: its index, its options and the simulated call."""

    index: int
    options: dict[str, Any]
    call: Any  # SimulatedCall

    @property
    def expected_status(self) -> str:
        return "RECORDED_ONE_WAY" if self.options["missing_leg"] else "RECORDED"


def options_for(i: int, rng: random.Random) -> dict[str, Any]:
    """The simulator options of call `i`: 20-30 s long, features spread over the indices."""
    return {
        "duration_s": float(rng.randint(20, 30)),
        "seed": 1000 + i,
        "start_ms": START_MS + 37_000 * i,
        "gaps": i % 5 == 1,
        "late_join_s": 3.0 if i % 7 == 2 else 0.0,
        "updated": i % 4 == 3,
        "missing_leg": i % 10 == 5,
        "reused_stream": i % 6 == 4,
    }


def plan_calls(count: int, seed: int) -> list[Planned]:
    """Simulate `count` calls with varied options."""
    from siprec_recorder.simulate import simulate_call

    rng = random.Random(seed)  # noqa: S311 - test data
    planned = []
    for i in range(count):
        opts = options_for(i, rng)
        planned.append(Planned(i, opts, simulate_call(**opts)))
    return planned


def hostile_order(
    planned: list[Planned], seed: int, *, reverse_every: int = 9
) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """(call index, event) in delivery order, and how many were duplicates.

    Shuffle everything; then every `reverse_every`-th call gets its events, in the slots the
    shuffle gave it, in exactly reversed order (ENDED first); then ~10 % are delivered again
    at random later or earlier positions.
    """
    rng = random.Random(seed)  # noqa: S311 - test data
    order = [(p.index, e) for p in planned for e in p.call.events]
    rng.shuffle(order)
    for p in planned[::reverse_every]:
        slots = [k for k, (i, _) in enumerate(order) if i == p.index]
        for slot, event in zip(slots, reversed(p.call.events), strict=True):
            order[slot] = (p.index, event)
    duplicates = rng.sample(order, round(len(order) * DUPLICATE_SHARE))
    for item in duplicates:
        order.insert(rng.randrange(len(order) + 1), item)
    return order, len(duplicates)
