"""Lambda cost per call-hour from measured CPU seconds (arm64, US East prices).

Lambda bills duration x configured memory (GB-seconds) plus a price per request; CPU is
allocated in proportion to memory, one full vCPU at 1,769 MB. For CPU-bound work the billed
duration is therefore about CPU seconds / vCPU share. Prices, looked up 2026-11 (US East,
first pricing tier), with their sources in `cost_notes()`.
"""

from __future__ import annotations

from typing import Any

from bench._measure import markdown_table

ARM_PRICE_PER_GB_S = 0.0000133334  # USD, arm64, first 7.5 billion GB-s per month
PRICE_PER_REQUEST = 0.20 / 1_000_000  # USD, both architectures
FULL_VCPU_MB = 1769
SOURCES = (
    "https://cloudchipr.com/blog/aws-lambda-pricing (US East: Arm, first 7.5 billion "
    "GB-seconds/month, $0.0000133334 per GB-second)",
    "https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/"
    "957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md "
    "(requests $0.20 per 1M on x86_64 and arm64; arm64 duration $0.0000133334 per GB-s; "
    "1,769 MB = one full vCPU)",
    "https://aws.amazon.com/lambda/pricing/ (the official page: duration x memory plus "
    "requests, CPU proportional to memory; its price table did not come through the search)",
)


def vcpu_share(memory_mb: int) -> float:
    """The fraction of a vCPU Lambda gives a function of this memory size (capped at 1)."""
    return min(1.0, memory_mb / FULL_VCPU_MB)


def function_memory() -> dict[str, int]:
    """Configured memory (MB) per function folder, from template.yaml at parameter defaults."""
    from bench.coldstart import template_functions

    return {name: int(spec["memory_mb"]) for name, spec in template_functions().items()}


def cost_rows(per_hour: dict[str, float], memory: dict[str, int]) -> list[list[Any]]:
    """Per function: invokes, CPU s, vCPU share, est. billed s, GB-s and USD per 1,000 call-h."""
    rows: list[list[Any]] = []
    total_gbs = total_usd = 0.0
    for function in ("stream_status", "recorder"):
        mb = memory[function]
        cpu = per_hour[f"{function}_cpu_s"]
        invokes = per_hour[f"{function}_invokes"]
        billed = cpu / vcpu_share(mb)
        gbs = billed * mb / 1024
        usd = 1000 * (gbs * ARM_PRICE_PER_GB_S + invokes * PRICE_PER_REQUEST)
        total_gbs += gbs
        total_usd += usd
        rows.append(
            [
                function,
                mb,
                f"{invokes:.0f}",
                f"{cpu:.1f}",
                f"{vcpu_share(mb):.3f}",
                f"{billed:.1f}",
                f"{gbs:.1f}",
                f"{usd:.2f}",
            ]
        )
    rows.append(["**total**", "", "", "", "", "", f"{total_gbs:.1f}", f"**{total_usd:.2f}**"])
    return rows


def cost_table(per_hour: dict[str, float], *, call_s: float) -> str:
    """The cost table for calls of `call_s` seconds (fixed per-call costs are not amortised)."""
    memory = function_memory()
    headers = ["function", "memory MB", "invokes / call-hour", "CPU s / call-hour"]
    headers += ["vCPU share", "est. billed s / call-hour", "GB-s / call-hour"]
    headers += ["USD / 1,000 call-hours"]
    recorder_wall = per_hour.get("recorder_wall_s", 0.0)
    wall_gbs = recorder_wall * memory["recorder"] / 1024
    return "\n".join(
        [
            f"#### Lambda cost estimate (arm64, {call_s:.0f}-second calls)",
            "",
            markdown_table(headers, cost_rows(per_hour, memory)),
            "",
            f"Billed seconds are CPU seconds / vCPU share (CPU-bound model). Upper bound from "
            f"the Recorder's local wall time instead (one call alone: {recorder_wall:.1f} s per "
            f"call-hour, waits on the local moto included): {wall_gbs:.1f} GB-s, "
            f"USD {1000 * wall_gbs * ARM_PRICE_PER_GB_S:.2f} per 1,000 call-hours of duration.",
        ]
    )


def cost_notes() -> str:
    """Where the prices come from and what the estimate leaves out."""
    lines = [
        f"Prices: arm64 USD {ARM_PRICE_PER_GB_S} per GB-second, USD "
        f"{PRICE_PER_REQUEST * 1e6:.2f} per 1M requests (US East, first tier; free tier not "
        "applied). Sources:",
    ]
    lines += [f"- {s}" for s in SOURCES]
    lines += [
        "",
        "Not included: KVS ingestion/storage/GetMedia, S3 storage and requests, DynamoDB, SQS, "
        "EventBridge, KMS, X-Ray, CloudWatch Logs, the Recorder's ephemeral storage above 512 "
        "MB, the sweeper (one short invoke every 5 minutes, whatever the call volume). Short "
        "calls carry fixed per-call work (clients, table writes, manifest); long calls amortise "
        "it — see the pipeline table for CPU s per call-hour of 15 min to 4 h calls.",
        "",
        "Managed alternative: the per-minute price of Amazon Chime SDK call analytics "
        "recording / Voice Connector streaming was NOT found with the search tool (the "
        "Chime SDK pricing pages came back without their price tables: "
        "https://aws.amazon.com/chime/chime-sdk/pricing, "
        "https://aws.amazon.com/chime/voice-connector/pricing/); compare against those pages.",
    ]
    return "\n".join(lines)
