"""What the load test proves, read back from the local stack after the run.

Expected values come from the simulator (its options and source PCM), never from the pipeline:
each call's terminal state, one manifest per call, every leg's audio bit-exact, no object
written twice (versions = objects), one "Recording Available" event per call.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench._load_plan import Planned


@dataclass
class Verdict:
    """Counts and the problems found (empty problems = every check passed)."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(text)


def check_all(stack: Any, planned: list[Planned], events: list[dict[str, Any]]) -> Verdict:
    """Run every check; `events` are the "Recording Available" events that arrived."""
    from siprec_recorder.aws.calls_table import CallsTable

    v = Verdict()
    s3, bucket = stack.client("s3"), stack.settings.bucket
    table = CallsTable(stack.settings.calls_table, client=stack.client("dynamodb"))
    by_txn = {p.call.transaction_id: p for p in planned}

    statuses: Counter[str] = Counter()
    for p in planned:
        stored = table.get(p.call.transaction_id)
        status = stored.status.value if stored else "MISSING"
        statuses[status] += 1
        if status != p.expected_status:
            v.fail(f"call {p.index}: {status}, expected {p.expected_status}")
    v.counts.update({f"calls {k}": n for k, n in sorted(statuses.items())})

    keys = _all_keys(s3, bucket)
    manifests: dict[str, list[dict[str, Any]]] = {}
    for key in (k for k in keys if k.endswith("manifest.json")):
        m = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        manifests.setdefault(str(m.get("transaction_id")), []).append(m)
    v.counts["manifests"] = sum(len(ms) for ms in manifests.values())
    for txn, ms in manifests.items():
        if txn not in by_txn:
            v.fail(f"a manifest for an unknown transaction ({len(ms)})")
    for p in planned:
        got = manifests.get(p.call.transaction_id, [])
        if len(got) != 1:
            v.fail(f"call {p.index}: {len(got)} manifests")
        else:
            _check_audio(v, s3, bucket, p, got[0])
    v.counts["legs bit-exact"] = v.counts.get("legs bit-exact", 0)

    versions, markers = _versions(s3, bucket)
    v.counts["S3 objects"], v.counts["S3 object versions"] = len(keys), versions
    if versions != len(keys) or markers:
        v.fail(f"{versions} versions and {markers} delete markers for {len(keys)} objects")

    per_call = Counter(str(e.get("detail", {}).get("transaction_id")) for e in events)
    v.counts["Recording Available events"] = sum(per_call.values())
    for p in planned:
        if per_call[p.call.transaction_id] != 1:
            v.fail(f"call {p.index}: {per_call[p.call.transaction_id]} Recording Available")
    if set(per_call) - set(by_txn):
        v.fail("Recording Available for an unknown transaction")
    return v


def _check_audio(v: Verdict, s3: Any, bucket: str, p: Planned, manifest: dict[str, Any]) -> None:
    """Every leg that carried media is in the recording, sample for sample."""
    import soundfile as sf

    parties = {str(x.get("label")): x for x in manifest.get("participants", [])}
    one_way = manifest.get("one_way") or {}
    if p.options["missing_leg"] and one_way.get("missing") != p.call.missing_labels:
        v.fail(f"call {p.index}: one-way missing {one_way.get('missing')}")
    for leg in p.call.legs:
        party = parties.get(leg.label)
        if party is None or not party.get("key"):
            v.fail(f"call {p.index}: leg {leg.label} lost (not in the manifest)")
            continue
        data = s3.get_object(Bucket=bucket, Key=party["key"])["Body"].read()
        samples, rate = sf.read(io.BytesIO(data), dtype="int16")
        if rate != 8000 or not np.array_equal(samples, leg.pcm):
            v.fail(f"call {p.index}: leg {leg.label} audio differs from the source")
        else:
            v.counts["legs bit-exact"] = v.counts.get("legs bit-exact", 0) + 1


def _all_keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def _versions(s3: Any, bucket: str) -> tuple[int, int]:
    versions = markers = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions += len(page.get("Versions", []))
        markers += len(page.get("DeleteMarkers", []))
    return versions, markers
