"""The load test's hostile event order: every event kept, ~10 % twice, some calls reversed."""

from __future__ import annotations

import random
import time
from collections import Counter
from types import SimpleNamespace

from bench._load_plan import Planned, hostile_order, options_for


def fake_calls(count: int, events_per_call: int = 5) -> list[Planned]:
    return [
        Planned(
            i,
            {"missing_leg": False},
            SimpleNamespace(events=[{"call": i, "n": n} for n in range(events_per_call)]),
        )
        for i in range(count)
    ]


def test_every_event_is_delivered_and_about_ten_percent_twice() -> None:
    planned = fake_calls(40)
    order, duplicates = hostile_order(planned, seed=3)
    counts = Counter((e["call"], e["n"]) for _, e in order)
    assert set(counts) == {(i, n) for i in range(40) for n in range(5)}  # nothing lost
    assert len(order) == 200 + duplicates and duplicates == 20  # 10 % of 200
    assert sum(c - 1 for c in counts.values()) == duplicates
    assert all(i == e["call"] for i, e in order)  # the index travels with its event


def test_reversed_calls_arrive_in_exactly_reversed_order() -> None:
    planned = fake_calls(30)
    order, _ = hostile_order(planned, seed=5, reverse_every=9)
    for p in planned[::9]:
        firsts: list[int] = []
        for i, e in order:
            if i == p.index and e["n"] not in firsts:
                firsts.append(e["n"])
        assert firsts == [4, 3, 2, 1, 0]


def test_order_is_shuffled_and_deterministic_per_seed() -> None:
    planned = fake_calls(30)
    a, _ = hostile_order(planned, seed=11)
    b, _ = hostile_order(planned, seed=11)
    c, _ = hostile_order(planned, seed=12)
    assert a == b and a != c
    calls_in_first_twenty = {i for i, _ in a[:20]}
    assert len(calls_in_first_twenty) > 5  # calls are interleaved, not one after another


def test_options_cover_every_feature_with_one_way_calls_one_in_ten() -> None:
    rng = random.Random(1)
    opts = [options_for(i, rng) for i in range(200)]
    assert sum(o["missing_leg"] for o in opts) == 20
    for feature in ("gaps", "updated", "reused_stream"):
        assert sum(bool(o[feature]) for o in opts) >= 20
    assert sum(o["late_join_s"] > 0 for o in opts) >= 20
    assert all(20 <= o["duration_s"] <= 30 for o in opts)
    # start times are in the past and distinct (the sweeper compares event times)
    assert len({o["start_ms"] for o in opts}) == 200
    assert max(o["start_ms"] + o["duration_s"] * 1000 for o in opts) < time.time() * 1000
