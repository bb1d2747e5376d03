"""Handler cold-start import time (issue 7.3): `python -m bench.coldstart`.

Each function's `functions/<f>/app.py` is loaded by path the way the Lambda runtime loads it,
in a fresh interpreter, with the environment template.yaml gives the function (Globals plus
its own variables, parameters at their defaults) and the variables the runtime sets
(LAMBDA_TASK_ROOT etc., so Powertools' Tracer behaves as deployed). The package and numpy/lxml
come from the two layers built by their Makefiles for this machine (bench/_layers.py), first on
PYTHONPATH as /opt/python is on Lambda, and no bytecode is written (Lambda's file system is
read-only). Best of 5 runs against a budget; the StreamStatus import must not load numpy or
lxml. `-X importtime` names where the time goes. The same imports from the layers without
their bytecode (what SAM's Python builder shipped before) show what the build step saves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench._layers import Layers, build_layers, source_only
from bench._measure import (
    REPO_ROOT,
    child_env,
    machine_header,
    markdown_table,
    measure_command,
)

RUNS = 5
BUDGET_MS = {"stream_status": 150.0, "recorder": 500.0}
MUST_NOT_LOAD = {"stream_status": ("numpy", "lxml")}
# What the Recorder imports on its first job, not at handler import: the pipeline and the deps
# layer's libraries (report.png's matplotlib only when REPORT_ENABLED).
FIRST_JOB = {
    "recorder": (
        "siprec_recorder.pipeline.wiring",
        "numpy",
        "lxml.etree",
        "soundfile",
        "jsonschema",
    )
}
WATCH = ("numpy", "lxml", "boto3", "botocore.session", "aws_xray_sdk", "soundfile")

LOAD = """
import importlib, importlib.util, json, sys, time
path = sys.argv[1]
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", path)
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
ms = (time.perf_counter() - start) * 1000
assert callable(module.lambda_handler)
watch = sys.argv[2].split(",")
loaded = [m for m in watch if m in sys.modules]
start = time.perf_counter()
for name in filter(None, sys.argv[3].split(",")):
    importlib.import_module(name)
first_job_ms = (time.perf_counter() - start) * 1000
origins = {m: getattr(sys.modules[m], "__file__", None) or "" for m in watch + ["siprec_recorder"]
           if m in sys.modules}
print(json.dumps({"ms": ms, "first_job_ms": first_job_ms,
                  "loaded": loaded,
                  "modules": len(sys.modules), "origins": origins}))
"""


def template_functions() -> dict[str, dict[str, Any]]:
    """Per function folder: handler, memory (MB) and the environment the template sets."""
    from cfnlint.decode import decode_str  # type: ignore[import-untyped]

    tpl, errors = decode_str((REPO_ROOT / "template.yaml").read_text(encoding="utf-8"))
    if errors or tpl is None:
        raise RuntimeError("template.yaml does not parse")
    params = {k: v.get("Default", "") for k, v in tpl.get("Parameters", {}).items()}
    conditions = tpl.get("Conditions", {})
    glob = tpl.get("Globals", {}).get("Function", {})
    out: dict[str, dict[str, Any]] = {}
    for logical_id, res in tpl["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties", {})
        folder = Path(str(props["CodeUri"])).name
        variables = {
            **glob.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        env = {str(k): _value(v, params, conditions) for k, v in variables.items()}
        memory = _value(props.get("MemorySize", glob.get("MemorySize", 128)), params, conditions)
        out[folder] = {
            "logical_id": str(logical_id),
            "handler": str(props.get("Handler", glob.get("Handler", "app.lambda_handler"))),
            "memory_mb": int(memory),
            "env": env,
        }
    return out


def _value(node: Any, params: dict[str, Any], conditions: dict[str, Any]) -> str:
    """A template value as a string: parameters at their defaults, resources as placeholders."""
    if isinstance(node, dict) and len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return str(params.get(str(arg), f"local-{arg}"))
        if fn == "Fn::If":
            cond, yes, no = arg
            return _value(
                yes if _true(conditions[cond], params, conditions) else no, params, conditions
            )
        if fn == "Fn::GetAtt":
            return f"local-{arg[0] if isinstance(arg, list) else arg}"
        if fn == "Fn::Sub":
            return str(arg if isinstance(arg, str) else arg[0])
    return str(node)


def _true(node: Any, params: dict[str, Any], conditions: dict[str, Any]) -> bool:
    """Evaluate a condition (Equals / Not / And / Or / Condition) at the parameter defaults."""
    ((fn, arg),) = node.items()
    if fn == "Fn::Equals":
        return _value(arg[0], params, conditions) == _value(arg[1], params, conditions)
    if fn == "Fn::Not":
        return not _true(arg[0], params, conditions)
    if fn == "Fn::And":
        return all(_true(a, params, conditions) for a in arg)
    if fn == "Fn::Or":
        return any(_true(a, params, conditions) for a in arg)
    if fn == "Condition":
        return _true(conditions[arg], params, conditions)
    raise ValueError(f"unsupported condition function {fn}")


def lambda_env(function: str, spec: dict[str, Any], layers: Layers) -> dict[str, str]:
    """The template's variables plus what the Lambda runtime sets for this function."""
    return child_env(
        {
            **spec["env"],
            "PYTHONPATH": layers.pythonpath(),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_LAMBDA_FUNCTION_NAME": f"siprec-{function}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec["memory_mb"]),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "LAMBDA_TASK_ROOT": str(REPO_ROOT / "functions" / function),
            "_HANDLER": spec["handler"],
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }
    )


def measure(
    function: str, spec: dict[str, Any], layers: Layers, *, where_time_goes: bool = True
) -> dict[str, Any]:
    """Best of RUNS fresh-interpreter imports, plus (where_time_goes) the slowest imports."""
    path = REPO_ROOT / "functions" / function / f"{spec['handler'].rpartition('.')[0]}.py"
    env = lambda_env(function, spec, layers)
    runs = []
    for _ in range(RUNS):
        then = ",".join(FIRST_JOB.get(function, ()))
        m = measure_command([sys.executable, "-c", LOAD, str(path), ",".join(WATCH), then], env=env)
        m.check(f"importing {function}")
        run = json.loads(m.stdout.strip().splitlines()[-1]) | {"rss": m.peak_rss_mib}
        check_origins(function, run["origins"], layers)
        runs.append(run)
    best = min(runs, key=lambda r: float(r["ms"]))
    result: dict[str, Any] = best | {
        "median_ms": sorted(r["ms"] for r in runs)[RUNS // 2],
        "first_job_ms": min(r["first_job_ms"] for r in runs),
        "top": [],
    }
    if where_time_goes:
        timed = measure_command(
            [sys.executable, "-X", "importtime", "-c", LOAD, str(path), ",".join(WATCH), ""],
            env=env,
        ).check(f"importtime {function}")
        result["top"] = top_imports(timed.stderr)
    return result


def check_origins(function: str, origins: dict[str, str], layers: Layers) -> None:
    """The package, numpy and lxml must come from the layers, not from the bench's own venv."""
    for module in ("siprec_recorder", "numpy", "lxml"):
        where = origins.get(module)
        if where is not None and not where.startswith((str(layers.package), str(layers.deps))):
            raise RuntimeError(f"{function}: {module} was imported from {where}, not a layer")


def top_imports(importtime: str, count: int = 4) -> list[tuple[str, float]]:
    """The top-level packages with the largest cumulative import time (ms), from -X importtime."""
    totals: dict[str, float] = {}
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            cumulative_us = int(parts[1])
        except ValueError:
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        root = name.strip().split(".")[0]
        # top-level imports of the handler (the runner's own are standard library)
        if depth == 0 and root not in sys.stdlib_module_names:
            totals[root] = totals.get(root, 0.0) + cumulative_us / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:count]


def main() -> int:
    """Print the table; exit 1 when a function is over budget or StreamStatus loads numpy/lxml."""
    functions = template_functions()
    layers = build_layers()
    bare = source_only(layers)
    rows, failed = [], False
    for function, spec in sorted(functions.items()):
        r = measure(function, spec, layers)
        before = measure(function, spec, bare, where_time_goes=False)
        budget = BUDGET_MS.get(function)
        forbidden = [m for m in MUST_NOT_LOAD.get(function, ()) if m in r["loaded"]]
        ok = (budget is None or r["ms"] <= budget) and not forbidden
        failed |= not ok
        rows.append(
            [
                function,
                spec["memory_mb"],
                f"{r['ms']:.0f}",
                f"{r['median_ms']:.0f}",
                f"{r['first_job_ms']:.0f}" if function in FIRST_JOB else "-",
                f"{before['ms']:.0f}"
                + (f" / {before['first_job_ms']:.0f}" if function in FIRST_JOB else ""),
                f"{budget:.0f}" if budget else "-",
                ("pass" if ok else "FAIL")
                + (f" (loads {', '.join(forbidden)})" if forbidden else ""),
                ", ".join(r["loaded"]) or "none",
                f"{r['rss']:.0f}",
                ", ".join(f"{name} {ms:.0f}" for name, ms in r["top"]),
            ]
        )
    headers = ["function", "memory MB", "import ms (best of 5)", "median ms"]
    headers += ["first job's imports ms", "without the layers' bytecode ms", "budget ms"]
    headers += [
        "verdict",
        "heavy modules loaded by the import",
        "RSS MiB",
        "slowest imports (cumulative ms)",
    ]
    print("### Cold start: handler import\n")
    print(machine_header() + "\n")
    print(markdown_table(headers, rows))
    print(
        "\nImport of `functions/<f>/app.py` by path in a fresh interpreter (as the runtime "
        "loads the handler), with the template's environment at parameter defaults and the "
        "runtime's variables (LAMBDA_TASK_ROOT set, so the Tracer is active as deployed), "
        "the package and its dependencies from the two layers as their Makefiles build them "
        "(with bytecode), no bytecode written. 'Without the layers' bytecode': the same layers "
        "without .pyc files, as SAM's Python builder shipped them (best of 5; import / first "
        "job). First job's imports: what the Recorder loads on its first job rather than at "
        "import (the pipeline, numpy, lxml, soundfile, jsonschema), after the handler. Interpreter "
        "start-up is not included; RSS is the whole interpreter after the imports."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
