"""Reading the encoded bytes of a path or a file object, refusing at once what is not a
regular, readable, binary file: a URL, a FIFO or a device, a text-mode or write-only file."""

from __future__ import annotations

import errno
import io
import os
import re
import stat

from .errors import InvalidImageError

__all__ = ["read_file_object", "read_path"]

# A scheme of two letters or more, so that a Windows drive ("C:/photos") is not taken for one;
# one slash is enough, as a Path made from a URL keeps only one.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
# Opening a FIFO for reading would wait for a writer; O_NONBLOCK makes that open return at once.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_path(image: str | os.PathLike[str], source: str) -> bytes:
    try:
        name = os.fspath(image)
    except TypeError as error:
        raise InvalidImageError(f"not a usable path: {error}", source=source) from error
    if isinstance(name, str) and _URL.match(name) and not os.path.lexists(name):
        raise InvalidImageError(
            "is a URL, and URLs are not fetched (the library makes no network call except to "
            "its endpoint): download it first and pass the file or its bytes",
            source=source,
        )
    try:
        info = os.stat(name)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise InvalidImageError("file not found; check the path", source=source) from error
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            message = f"the name is too long for the file system ({len(name)} characters)"
            raise InvalidImageError(f"{message}; check the path", source=source) from error
        raise InvalidImageError(_cannot_read(error), source=source) from error
    except ValueError as error:  # a NUL character in the path
        raise InvalidImageError(f"not a usable path: {error}", source=source) from error
    if stat.S_ISDIR(info.st_mode):
        raise InvalidImageError("is a folder, not an image file", source=source)
    _refuse_special(info.st_mode, source)
    try:
        descriptor = os.open(name, _OPEN_FLAGS)
        with os.fdopen(descriptor, "rb") as file:
            # Checked again on what was opened: the path may have changed since the stat.
            _refuse_special(os.fstat(file.fileno()).st_mode, source)
            return file.read()
    except OSError as error:
        raise InvalidImageError(_cannot_read(error), source=source) from error


def _cannot_read(error: OSError) -> str:
    return f"cannot read the file: {error.strerror or error}"


def _refuse_special(mode: int, source: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISFIFO(mode):
        kind = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a special file"
    raise InvalidImageError(
        f"is {kind}, not a regular file; only image files are read: save the image to a file, "
        "or pass its bytes",
        source=source,
    )


_TEXT_MODE = "the file object is open in text mode; open it in binary mode ('rb')"


def read_file_object(image: object, source: str) -> bytes:
    if isinstance(image, io.TextIOBase):
        raise InvalidImageError(_TEXT_MODE, source=source)
    readable = getattr(image, "readable", None)
    try:
        can_read = readable() if callable(readable) else True
    except ValueError as error:  # what a closed file says
        raise InvalidImageError(f"the file object is closed ({error})", source=source) from error
    except Exception:  # let read() say what is wrong
        can_read = True
    if can_read is False:
        raise InvalidImageError(
            "the file object is open for writing only; open it for reading ('rb')", source=source
        )
    _refuse_open_device(image, source)
    try:
        data = image.read()  # type: ignore[attr-defined]
    except UnicodeDecodeError as error:
        raise InvalidImageError(_TEXT_MODE, source=source) from error
    except Exception as error:  # a caller's object may fail in any way: it is the input's fault
        raise InvalidImageError(
            f"reading the file object failed ({type(error).__name__}: {error}); "
            "pass a readable binary file, or the bytes",
            source=source,
        ) from error
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        raise InvalidImageError(_TEXT_MODE, source=source)
    raise InvalidImageError(
        f"the file object's read() gave {type(data).__name__}, not bytes; "
        "pass a binary file, or the bytes",
        source=source,
    )


def _refuse_open_device(image: object, source: str) -> None:
    """A device such as /dev/zero never ends; a pipe (standard input) is a fine source."""
    try:
        mode = os.fstat(image.fileno()).st_mode  # type: ignore[attr-defined]
    except Exception:  # no descriptor behind it (BytesIO, a caller's own object)
        return
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        _refuse_special(mode, source)
