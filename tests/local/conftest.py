"""Fixtures for the local stack tests: a small simulated call and a KVS server holding it."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from siprec_recorder.local.kvs_server import KvsServer
from siprec_recorder.simulate import SimulatedCall, ingest, simulate_call

NO_RETRY = Config(retries={"total_max_attempts": 1}, read_timeout=10, connect_timeout=5)


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def small_call() -> SimulatedCall:
    """20 s, reused streams (other calls' fragments before and after), both legs."""
    return simulate_call(duration_s=20, seed=7, reused_stream=True)


@pytest.fixture()
def kvs(small_call: SimulatedCall) -> Iterator[KvsServer]:
    with KvsServer() as server:
        ingest(small_call, server)
        yield server


def plain_client(service: str, url: str) -> object:
    """A plain boto3 client with botocore's retries off (so injected faults surface)."""
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=url, region_name="us-east-1", config=NO_RETRY
    )
