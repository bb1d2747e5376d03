"""Invoke a Lambda handler the way the Lambda runtime does: by file path and handler name.

The demo, the load test and the end-to-end tests call the real `functions/*/app.py` entry points
through this, with a context object that has the attributes Powertools reads.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

FUNCTIONS_DIR = Path(__file__).resolve().parents[4] / "functions"  # editable checkout: repo root

Handler = Callable[[Mapping[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes of the runtime's context object that handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int = 1024
    timeout_s: float = 900.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_loaded: dict[Path, ModuleType] = {}


def load_handler(
    function: str, handler: str = "app.lambda_handler", *, fresh: bool = False
) -> Handler:
    """Load `functions/<function>/<module>.py` by path, as the runtime does; return the handler."""
    module_name, _, attr = handler.rpartition(".")
    path = FUNCTIONS_DIR / function / f"{module_name}.py"
    if fresh or path not in _loaded:
        # fresh: a new "container" (module state such as cached clients starts empty)
        suffix = f"_{uuid.uuid4().hex[:8]}" if fresh else ""
        spec = importlib.util.spec_from_file_location(
            f"lambda_{function}_{module_name}{suffix}", path
        )
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"no handler module at {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        if fresh:
            fn: Handler = getattr(module, attr)
            return fn
        _loaded[path] = module
    cached: Handler = getattr(_loaded[path], attr)
    return cached


def invoke(function: str, event: Mapping[str, Any], *, timeout_s: float = 900.0) -> Any:
    """Call a function's handler with one event and a fresh context; return what it returns."""
    return load_handler(function)(event, LambdaContext(function_name=function, timeout_s=timeout_s))
