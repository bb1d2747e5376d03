"""SIPREC metadata parse time per corpus sample: `python -m bench.metadata` prints a markdown table.

Each sample is parsed as the XML alone and as the whole body/message (multipart or SIP), and the
median of many runs is reported in microseconds; the hostile inputs' refusal time too. Not a test:
numbers depend on the machine (the issue asks for well under a millisecond for 2-3 KB).
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from siprec_recorder.errors import MetadataError
from siprec_recorder.metadata.correlate import expected_labels
from siprec_recorder.metadata.interaction import find_interaction_id
from siprec_recorder.metadata.parse import parse_metadata

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "siprec-corpus"
RUNS = 300


def median_us(fn: Callable[[], object], runs: int = RUNS) -> float:
    """Median wall time of `fn` in microseconds (after a short warm-up)."""
    for _ in range(10):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def _refuse(data: bytes | str) -> Callable[[], None]:
    def run() -> None:
        try:
            parse_metadata(data)
        except MetadataError:
            return
        raise AssertionError("hostile input was accepted")

    return run


def _full(data: bytes) -> Callable[[], None]:
    def run() -> None:
        meta = parse_metadata(data)
        expected_labels(meta)
        find_interaction_id(meta)

    return run


def hostile_inputs() -> dict[str, bytes | str]:
    """The inputs the parser must refuse fast."""
    laughs = (
        '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY a{i} "{"&a;" * 10}">' for i in range(9))
        + "]><recording>&a8;</recording>"
    )
    return {
        "billion laughs": laughs,
        "external entity": '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        "oversized (2 MiB)": b"<recording>" + b"a" * (2 << 20),
        "deep nesting (100k)": "<recording>" + "<a>" * 100_000 + "</a>" * 100_000 + "</recording>",
    }


def main() -> None:
    """Print the per-sample table and the hostile-input table."""
    print("| sample | xml bytes | parse xml µs | whole body/message µs | + correlate µs |")
    print("|---|---:|---:|---:|---:|")
    typical: list[float] = []
    for xml_path in sorted(CORPUS.glob("*.xml")):
        xml = xml_path.read_bytes()
        whole = xml_path.with_suffix(".txt").read_bytes()
        try:
            parse_metadata(xml)
        except MetadataError:
            print(f"| {xml_path.stem} | {len(xml)} | refused | refused | - |")
            continue
        t_xml = median_us(functools.partial(parse_metadata, xml))
        t_whole = median_us(functools.partial(parse_metadata, whole))
        t_full = median_us(_full(whole))
        if 2000 <= len(xml) <= 3000:
            typical.append(t_xml)
        print(f"| {xml_path.stem} | {len(xml)} | {t_xml:.0f} | {t_whole:.0f} | {t_full:.0f} |")
    if typical:
        print(f"\nTypical 2-3 KB metadata: median {statistics.median(typical):.0f} µs per parse.")
    print("\n| hostile input | refused in µs (median) |")
    print("|---|---:|")
    for name, data in hostile_inputs().items():
        print(f"| {name} | {median_us(_refuse(data), runs=20):.0f} |")


if __name__ == "__main__":
    main()
