"""Fail fast when nothing can work: an unreachable endpoint stops the client and the command."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import no_sleeping
from segformer_clothes import EndpointUnreachableError, NetworkError, SegformerClothesClient
from segformer_clothes.testing import FakeInferenceServer


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/models/clothes"


PHOTO = Image.new("RGB", (8, 8))


def test_after_too_many_refused_connections_the_endpoint_is_unreachable():
    url = closed_port_url()
    with SegformerClothesClient(endpoint_url=url, max_connection_failures=3) as client:
        no_sleeping(client)
        with pytest.raises(EndpointUnreachableError) as caught:
            client.segment(PHOTO)
    error = caught.value
    assert isinstance(error, NetworkError)
    assert error.failures == 3
    assert url in str(error)
    assert "ConnectError" in str(error)  # the last cause
    assert client.stats.requests == 3  # not retried past the limit


def test_it_ends_a_batch_even_with_return_exceptions():
    with SegformerClothesClient(
        endpoint_url=closed_port_url(), max_connection_failures=2, max_concurrency=1
    ) as client:
        waits = no_sleeping(client)
        seen: list[object] = []
        batch = client.segment_many([PHOTO] * 50, return_exceptions=True)
        with pytest.raises(EndpointUnreachableError):
            seen.extend(batch)
    assert seen == []  # not 50 errors, one by one
    # The first photo's two attempts, and at most the next photo's first (already started).
    assert client.stats.requests <= 3
    assert len(waits.seconds) <= 2


@pytest.mark.anyio
async def test_the_async_path_stops_the_same_way(anyio_backend):
    async with SegformerClothesClient(
        endpoint_url=closed_port_url(), max_connection_failures=2
    ) as client:
        no_sleeping(client)
        with pytest.raises(EndpointUnreachableError):
            async for _ in client.asegment_many([PHOTO] * 20, return_exceptions=True):
                pass


def test_a_server_that_answers_is_not_unreachable():
    # Connections dropped after the server accepted them mean the server is up: they are retried
    # as network errors and never count as connection failures.
    with (
        FakeInferenceServer(faults=["drop", "drop", "drop"]) as server,
        SegformerClothesClient(endpoint_url=server.url, max_connection_failures=1) as client,
    ):
        no_sleeping(client)
        results = list(client.segment_many([PHOTO] * 3))
    assert len(results) == 3


def test_none_never_stops():
    with SegformerClothesClient(
        endpoint_url=closed_port_url(), max_connection_failures=None, max_retries=4
    ) as client:
        no_sleeping(client)
        with pytest.raises(NetworkError) as caught:
            client.segment(PHOTO)
    assert not isinstance(caught.value, EndpointUnreachableError)
    assert client.stats.requests == 5


@pytest.mark.integration
def test_the_command_exits_1_with_one_line(tmp_path: Path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(30):
        Image.new("RGB", (8, 8 + i)).save(photos / f"p{i:02d}.png")
    done = subprocess.run(
        [sys.executable, "-m", "segformer_clothes.cli", "segment", str(photos), "--out",
         str(tmp_path / "out"), "--endpoint-url", closed_port_url(),
         "--max-connection-failures", "3", "--quiet"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "is unreachable" in lines[0]
    assert "Traceback" not in done.stderr
