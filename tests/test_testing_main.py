"""``python -m segformer_clothes.testing``: the stand-in server for shells, run as a process."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from PIL import Image

from segformer_clothes import SegformerClothesClient

pytestmark = pytest.mark.integration


@pytest.mark.timeout(60)
def test_it_serves_until_stopped_and_says_where():
    server = subprocess.Popen(
        [sys.executable, "-m", "segformer_clothes.testing"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        with SegformerClothesClient(endpoint_url=url) as client:
            assert client.segment(Image.new("RGB", (30, 40))).size == (30, 40)
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors


def test_a_bad_port_is_one_line_and_exit_2():
    done = subprocess.run(
        [sys.executable, "-m", "segformer_clothes.testing", "--port", "70000"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "port must be 0 (any free port) to 65535, got 70000" in done.stderr
    assert "Traceback" not in done.stderr
