"""``segformer-clothes serve --fake`` and the checks ``serve`` makes before listening: none of
them needs the ``serve`` extra, so they run in every session."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from conftest import jpeg_bytes
from segformer_clothes import AuthenticationError, SegformerClothesClient
from segformer_clothes.cli import main

pytestmark = pytest.mark.integration

COMMAND = [sys.executable, "-m", "segformer_clothes.cli", "serve"]


@pytest.fixture
def fake_process(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`serve --fake` on a free port of 127.0.0.1, with its URL; stopped by its own pid."""
    extra = getattr(request, "param", [])
    with subprocess.Popen(
        [*COMMAND, "--fake", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), url
            yield process, url
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


def test_fake_answers_our_client_until_sigterm(fake_process) -> None:
    process, url = fake_process
    with SegformerClothesClient(endpoint_url=url, max_retries=0) as client:
        results = client.segment_batch([jpeg_bytes((40, 60)), jpeg_bytes((30, 20))])
    assert [result.size for result in results] == [(40, 60), (30, 20)]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


@pytest.mark.parametrize("fake_process", [["--token-env", "SERVE_TEST_TOKEN"]], indirect=True)
def test_fake_requires_the_token_named_by_token_env(fake_process, monkeypatch) -> None:
    # The variable is read by the child: the fixture inherits it from this process.
    _, url = fake_process
    client = SegformerClothesClient(endpoint_url=url, max_retries=0)
    with client, pytest.raises(AuthenticationError):
        client.segment(jpeg_bytes())
    with SegformerClothesClient(endpoint_url=url, token="s3cret-test", max_retries=0) as client:
        assert client.segment(jpeg_bytes()).size == (48, 64)


@pytest.fixture(autouse=True)
def serve_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVE_TEST_TOKEN", "s3cret-test")


def test_fake_listens_on_loopback_only(capsys) -> None:
    assert main(["serve", "--fake", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--fake listens on 127.0.0.1 only" in capsys.readouterr().err


def test_a_token_env_that_is_not_set_is_a_usage_error(monkeypatch, capsys) -> None:
    monkeypatch.delenv("SERVE_TEST_TOKEN")
    assert main(["serve", "--fake", "--token-env", "SERVE_TEST_TOKEN", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "the environment variable SERVE_TEST_TOKEN is not set" in err


def test_a_bad_setting_is_named_by_its_option(capsys) -> None:
    assert main(["serve", "--max-batch-size", "0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "--max-batch-size must be a whole number, 1 or more, got 0" in err


@pytest.mark.parametrize(("device", "batch"), [("cpu", 2), ("cuda", 8), ("cuda:1", 8)])
def test_left_out_the_batch_is_small_on_a_cpu_and_the_settings_default_on_a_gpu(
    device: str, batch: int
) -> None:
    from segformer_clothes.cli._serve import _default_batch_size
    from segformer_clothes.serve import ServeSettings

    assert _default_batch_size(device) == batch
    assert ServeSettings().max_batch_size == 8  # the GPU's is the library's default


@pytest.mark.parametrize("module", ["starlette", "uvicorn", "torch"])
def test_without_the_extras_the_message_gives_the_install_command(
    monkeypatch, capsys, module
) -> None:
    # torch may be missing anyway (the plain tests session): then the local extra is named too.
    torch_missing = module == "torch" or any(
        importlib.util.find_spec(name) is None for name in ("torch", "transformers")
    )
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails
    assert main(["serve", "--model", "some/model", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert module in err
    command = "segformer-clothes[local,serve]" if torch_missing else "segformer-clothes[serve]"
    assert f'pip install "{command}"' in err
    assert "--fake" in err


def test_the_serve_module_imports_without_starlette_and_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['starlette'] = None\n"
        "import segformer_clothes.serve as serve\n"
        "assert serve.ServeSettings().max_batch_size == 8\n"
        "try:\n"
        "    serve.SegmentationServer\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 'pip install "segformer-clothes[serve]"' in done.stdout
