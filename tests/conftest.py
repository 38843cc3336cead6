"""Shared fixtures: backends, an isolated Hugging Face environment, the fake server, clients
that record their waits instead of sleeping, and small photos."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from segformer_clothes import SegformerClothesClient
from segformer_clothes.testing import FakeInferenceServer, encode_answer, pixel_labels

MOCK_URL = "http://inference.test/models/clothes"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Async tests run on asyncio and on trio."""
    return str(request.param)


@pytest.fixture(autouse=True)
def isolated_hf_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """No token leaks in from the machine: no HF_* variables, an empty HF_HOME."""
    for name in ("HF_TOKEN", "HF_API_TOKEN", "HF_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))


@pytest.fixture
def server() -> Iterator[FakeInferenceServer]:
    """A fake inference server with default answers and no faults."""
    with FakeInferenceServer() as running:
        yield running


class Waits:
    """The waits a client asked for, recorded instead of slept."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)


def no_sleeping(client: SegformerClothesClient) -> Waits:
    """Make a client record its waits (retries, rate limit) instead of sleeping."""
    waits = Waits()
    client._sleep = waits.sleep
    client._async_sleep = waits.async_sleep
    return waits


@pytest.fixture
def make_client() -> Iterator[Callable[..., SegformerClothesClient]]:
    """Build clients that never really sleep; they are closed after the test."""
    made: list[SegformerClothesClient] = []

    def make(**kwargs: Any) -> SegformerClothesClient:
        client = SegformerClothesClient(**kwargs)
        client.waits = no_sleeping(client)  # type: ignore[attr-defined]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


class MockServer:
    """An `httpx.MockTransport` handler answering from a script of responses, counting calls."""

    def __init__(self, *responses: httpx.Response | Exception | Callable[..., Any]) -> None:
        self.script = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step(request)  # type: ignore[no-any-return]
        return step


def answer_for(request: httpx.Request) -> httpx.Response:
    """A correct answer for the image in a request, as the fake server computes it."""
    image = Image.open(io.BytesIO(request.content))
    return httpx.Response(200, json=encode_answer(pixel_labels(image)))


@pytest.fixture
def mock_client(
    make_client: Callable[..., SegformerClothesClient],
) -> Callable[..., tuple[SegformerClothesClient, MockServer]]:
    """A client whose sync and async HTTP go to a scripted `MockServer`."""

    def make(
        *responses: httpx.Response | Exception | Callable[..., Any], **kwargs: Any
    ) -> tuple[SegformerClothesClient, MockServer]:
        handler = MockServer(*(responses or (answer_for,)))
        transport = httpx.MockTransport(handler)
        kwargs.setdefault("endpoint_url", MOCK_URL)
        client = make_client(
            http_client=httpx.Client(transport=transport),
            async_http_client=httpx.AsyncClient(transport=transport),
            **kwargs,
        )
        return client, handler

    return make


def error_response(status: int, body: Any = None, **headers: str) -> httpx.Response:
    """A JSON error answer with a request id."""
    return httpx.Response(
        status,
        content=json.dumps(body if body is not None else {"error": "nope"}).encode(),
        headers={"x-request-id": "req-123", **headers},
    )


def jpeg_bytes(size: tuple[int, int] = (48, 64), color: str = "navy", **save: Any) -> bytes:
    """A small JPEG photo."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


@pytest.fixture
def photo_path(tmp_path: Path) -> Path:
    """A small JPEG on disk."""
    path = tmp_path / "look.jpg"
    path.write_bytes(jpeg_bytes())
    return path


def photo(index: int) -> Image.Image:
    """A distinct small photo per index (its size encodes the index, to check order)."""
    generator = np.random.default_rng(index)
    pixels = generator.integers(0, 200, size=(20 + index % 17, 30 + index // 17, 3))
    return Image.fromarray(pixels.astype(np.uint8))
