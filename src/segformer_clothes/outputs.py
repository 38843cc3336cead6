"""The output folder of a catalogue run: where each photo's files go, one writer at a time, and
no temporary file left behind by a run that was killed.

The layout, the same for every way of running a catalogue:

| path | what it holds |
|---|---|
| ``labels/<name>.png`` | the label map (`SegmentationResult.save`), written last |
| ``overlays/<name>.jpg`` | the overlay, with ``--overlay`` |
| ``crops/<name>/<label>.png`` | one cut-out per garment, with ``--crops`` |
| ``results.jsonl`` | one record per photo and run: status, size, labels, coverage or error |
| ``.segformer-clothes.lock`` | the pid and host of the run writing the folder, while it runs |

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp())
    >>> with OutputLock(out) as lock:
    ...     print(lock.path.name, lock.path.exists())
    .segformer-clothes.lock True
    >>> lock.path.exists()
    False
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
from pathlib import Path
from types import TracebackType

from .errors import OutputLockedError

__all__ = ["LOCK_NAME", "TEMPORARY_SUFFIX", "OutputLock", "sweep_temporary_files", "temporary_path"]

logger = logging.getLogger("segformer_clothes")

LOCK_NAME = ".segformer-clothes.lock"
"""The lock file's name, at the top of the output folder."""

TEMPORARY_SUFFIX = ".segformer-tmp"
"""What every file being written ends in until it is renamed into place."""


def temporary_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed over ``path``: a hidden file beside it.

    Example:
        >>> temporary_path(Path("out/labels/look.png")).name.startswith(".look.png.")
        True
    """
    return path.with_name(f".{path.name}.{os.getpid()}{TEMPORARY_SUFFIX}")


def sweep_temporary_files(folder: Path) -> int:
    """Remove the temporary files a killed run left in ``folder``; returns how many.

    Call it only while holding the folder's `OutputLock`: then no other run is writing there.
    """
    removed = 0
    for leftover in folder.rglob(f".*{TEMPORARY_SUFFIX}"):
        try:
            leftover.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    if removed:
        logger.info("removed %d temporary files left by an interrupted run in %s", removed, folder)
    return removed


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


class OutputLock:
    """One writer per output folder: a lock file holding the writer's pid and host.

    Taking it creates the folder. A lock whose process is gone (on this host) is taken over with
    a warning; a live one, or one from another host, raises `OutputLockedError` naming it.

    Args:
        folder: the output folder.

    Raises:
        OutputLockedError: another run holds the lock.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._held = False

    def acquire(self) -> None:
        """Take the lock (creating the folder), or raise `OutputLockedError`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        holder = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
        for _ in range(3):  # a stale lock is removed, then taken like a fresh one
            try:
                descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            with os.fdopen(descriptor, "w", encoding="utf-8") as lock_file:
                lock_file.write(holder + "\n")
            self._held = True
            return
        raise OutputLockedError(f"could not take the lock {self.path}; another run keeps taking it")

    def _take_over_if_stale(self) -> None:
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
            pid, host = int(holder["pid"]), str(holder["host"])
        except FileNotFoundError:
            return  # released meanwhile: try again
        except (OSError, ValueError, KeyError, TypeError):
            pid, host = -1, socket.gethostname()  # unreadable: a run killed while writing it
        if host == socket.gethostname() and not (pid > 0 and _process_is_alive(pid)):
            logger.warning("taking over the lock %s of a run that is gone (pid %s)", self.path, pid)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        where = f"pid {pid} on {host}"
        raise OutputLockedError(
            f"another run ({where}) is writing to {self.folder}: its lock is {self.path}. Wait "
            "for it to finish, or use another output folder; if that run is gone, delete the lock",
            source=str(self.path),
        )

    def release(self) -> None:
        """Remove the lock file, if this run holds it."""
        if not self._held:
            return
        self._held = False
        try:
            self.path.unlink()
        except OSError as error:
            if error.errno != errno.ENOENT:
                logger.warning("could not remove the lock %s: %s", self.path, error)

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
