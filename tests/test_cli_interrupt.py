"""Ctrl-C ends `segformer-clothes segment` at once, whatever a photo's read is doing.

A hung network drive is stood in for by a start-up hook of the command's own Python: a read of a
file in the photo folder blocks a minute in its thread (as a read the system cannot interrupt
does), after touching a marker file so that the test knows the reads have begun. (It finds
the file behind a descriptor through /proc: Linux, as CI is.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes.testing import FakeInferenceServer

pytestmark = pytest.mark.integration

HUNG_DRIVE = textwrap.dedent(
    """
    import os
    import pathlib
    import time

    _fdopen = os.fdopen
    _folder = os.environ["HUNG_FOLDER"]


    class _HungFile:
        def __init__(self, file):
            self._file = file

        def read(self, *args):
            pathlib.Path(os.environ["HUNG_MARKER"]).touch()
            time.sleep(60)
            return self._file.read(*args)

        def __getattr__(self, name):
            return getattr(self._file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()


    def _fdopen_hung(descriptor, *args, **kwargs):
        file = _fdopen(descriptor, *args, **kwargs)
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            return file
        return _HungFile(file) if target.startswith(_folder) else file


    os.fdopen = _fdopen_hung
    """
)


def test_ctrl_c_ends_the_command_while_reads_hang(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        pixels = rng.integers(0, 200, (40, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(photos / f"look_{i}.png")
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HUNG_DRIVE)
    marker = tmp_path / "reads-began"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(
        PYTHONPATH=str(hook),
        HUNG_FOLDER=str(photos.resolve()),
        HUNG_MARKER=str(marker),
        HF_HOME="/nonexistent-hf-home",
    )
    out = tmp_path / "out"
    with FakeInferenceServer() as server:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "segformer_clothes.cli", "segment", str(photos),
                "--out", str(out), "--endpoint-url", server.url,
            ],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            waited = time.monotonic() + 60
            while not marker.exists() and time.monotonic() < waited:
                time.sleep(0.05)
            assert marker.exists(), "the command never began reading its photos"
            time.sleep(0.3)
            process.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            _, stderr = process.communicate(timeout=50)
            seconds = time.monotonic() - interrupted
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert server.images_seen == 0
    # Ended long before the reads could (a minute each): the command did not wait for them.
    assert seconds < 30, f"Ctrl-C took {seconds:.1f} s"
    assert process.returncode == 130, stderr
    assert "Run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    # Nothing was recorded for the photos whose reads hung, and the lock is gone: a rerun
    # (here without the hung drive) does them all.
    results = out / "results.jsonl"
    assert not results.exists() or results.read_text() == ""
    assert not (out / ".segformer-clothes.lock").exists()
    with FakeInferenceServer() as server:
        rerun = subprocess.run(
            [
                sys.executable, "-m", "segformer_clothes.cli", "segment", str(photos),
                "--out", str(out), "--endpoint-url", server.url, "--json", "-",
            ],
            cwd=tmp_path, env={k: v for k, v in env.items() if k != "PYTHONPATH"},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["done"] == 6
