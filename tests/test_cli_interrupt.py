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


def draw_photos(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        pixels = rng.integers(0, 200, (40, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"look_{i}.png")
    return folder


def interrupt_while_reads_hang(tmp_path: Path, photos: Path, backend: list[str]) -> None:
    """Run the command on a hung drive, Ctrl-C it once its reads began, check it ended at once
    with nothing recorded for the hung photos, then rerun it on a working drive."""
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
    command = [sys.executable, "-m", "segformer_clothes.cli", "segment", str(photos)]
    command += ["--out", str(out), *backend]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        waited = time.monotonic() + 90
        while not marker.exists() and time.monotonic() < waited and process.poll() is None:
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
    del env["PYTHONPATH"]
    rerun = subprocess.run(
        [*command, "--json", "-"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["done"] == 6


def test_ctrl_c_ends_a_remote_run_while_reads_hang(tmp_path: Path) -> None:
    photos = draw_photos(tmp_path / "photos")
    with FakeInferenceServer() as server:
        interrupt_while_reads_hang(tmp_path, photos, ["--endpoint-url", server.url])
        assert server.images_seen == 6  # all from the rerun


@pytest.mark.local
def test_ctrl_c_ends_a_local_run_while_reads_hang(tmp_path: Path) -> None:
    from segformer_clothes.testing import save_random_segformer

    model = save_random_segformer(tmp_path / "model")
    photos = draw_photos(tmp_path / "photos")
    interrupt_while_reads_hang(
        tmp_path, photos, ["--local", "--model", str(model), "--device", "cpu"]
    )
