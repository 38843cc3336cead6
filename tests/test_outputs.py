"""The output folder's lock and the sweeping of temporary files a killed run left behind."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from segformer_clothes.catalogue import write_atomically
from segformer_clothes.errors import OutputLockedError
from segformer_clothes.outputs import (
    LOCK_NAME,
    TEMPORARY_SUFFIX,
    OutputLock,
    sweep_temporary_files,
    temporary_path,
)


def gone_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def test_the_lock_holds_pid_and_host_and_goes_with_the_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with OutputLock(out) as lock:
        holder = json.loads(lock.path.read_text(encoding="utf-8"))
        assert holder == {"pid": __import__("os").getpid(), "host": socket.gethostname()}
        assert lock.path == out / LOCK_NAME
    assert not (out / LOCK_NAME).exists()


def test_a_second_writer_is_refused_naming_the_lock(tmp_path: Path) -> None:
    with OutputLock(tmp_path), pytest.raises(OutputLockedError) as refused:
        OutputLock(tmp_path).acquire()
    assert str(tmp_path / LOCK_NAME) in str(refused.value)
    assert "another run" in str(refused.value)


def test_a_lock_of_another_host_is_never_taken_over(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": gone_pid(), "host": "elsewhere"}))
    with pytest.raises(OutputLockedError, match="elsewhere"):
        OutputLock(tmp_path).acquire()


@pytest.mark.parametrize("content", ["stale", "torn"])
def test_a_lock_whose_process_is_gone_is_taken_over_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    text = json.dumps({"pid": gone_pid(), "host": socket.gethostname()})
    (tmp_path / LOCK_NAME).write_text(text if content == "stale" else text[:7])
    with OutputLock(tmp_path) as lock:
        assert json.loads(lock.path.read_text())["pid"] != 0
    assert "taking over the lock" in caplog.text


def test_temporary_files_of_a_killed_run_are_swept(tmp_path: Path) -> None:
    kept = tmp_path / "labels" / "sub" / "look.png"
    # What a killed run (another pid) left beside the file it was writing.
    leftover = kept.with_name(f".look.png.{gone_pid()}{TEMPORARY_SUFFIX}")
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a PNG")
    write_atomically(kept, lambda path: path.write_bytes(b"whole"))
    assert temporary_path(kept).name.endswith(TEMPORARY_SUFFIX)
    assert sweep_temporary_files(tmp_path) == 1
    assert not leftover.exists()
    assert kept.read_bytes() == b"whole"
    assert sweep_temporary_files(tmp_path) == 0
