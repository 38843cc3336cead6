"""Turning any image input (path, bytes, file, PIL image, numpy array) into what is sent.

`prepare_upload` reads an input once and returns the bytes to POST, their MIME type and the
size of the photo as people see it (EXIF orientation applied). `load_image` decodes an input
into an upright RGB PIL image, for overlays and cut-outs. `read_image_bytes` returns the encoded
bytes of a file-like input as they are. `describe` names an input in a few words, for ``source``
and error messages. `PHOTO_SUFFIXES` lists the file suffixes taken for photos when a folder is
read.

Every problem with an input, whatever its kind, is an `InvalidImageError` naming the input,
raised before anything is sent: a missing or unreadable file, a URL (nothing is downloaded), a
FIFO or a device (never opened), a text-mode or write-only file object, bytes that are not an
image, or an array that holds no pixel values (strings, objects, NaN). 16-bit images are scaled
to 8 bits over their full range, so that they look like themselves.

Example:
    >>> from PIL import Image
    >>> upload = prepare_upload(Image.new("RGB", (64, 32)))
    >>> upload.mime, upload.size
    ('image/png', (64, 32))
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TypeAlias

import attrs
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._image_sources import read_file_object, read_path
from .errors import InvalidImageError

__all__ = [
    "PHOTO_SUFFIXES",
    "ImageInput",
    "Upload",
    "decoding_errors",
    "describe",
    "image_size",
    "load_image",
    "prepare_upload",
    "read_image_bytes",
]

ImageInput: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | Image.Image | np.ndarray
)
"""Anything the library accepts as a photo: a path, encoded bytes, a binary file object,
a PIL image or an H×W / H×W×3 / H×W×4 numpy array."""

PHOTO_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".jfif"}
)
"""The file suffixes (lower case, with the dot) of the photos the library reads from a folder.

Example:
    >>> from pathlib import Path
    >>> Path("look.JPG").suffix.lower() in PHOTO_SUFFIXES
    True
"""

_SENT_AS_IS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# EXIF orientations 5..8 swap width and height.
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


@attrs.frozen
class Upload:
    """An image ready to send.

    Attributes:
        data: the encoded bytes (the file as it is for JPEG, PNG and WebP; PNG otherwise).
        mime: their ``Content-Type``.
        size: ``(width, height)`` of the photo as people see it (EXIF orientation applied).
        sent_size: ``(width, height)`` of the image the server will see; smaller than ``size``
            only when ``max_side`` downscaled it.
    """

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    mime: str
    size: tuple[int, int]
    sent_size: tuple[int, int]


def describe(image: object) -> str:
    """Name an input in a few words: the path for files, else its type and size.

    Example:
        >>> describe(b"abc")
        '<3 bytes>'
    """
    try:
        if isinstance(image, (str, os.PathLike)):
            return os.fsdecode(os.fspath(image))
        if isinstance(image, memoryview):
            return f"<{image.nbytes} bytes>"
        if isinstance(image, (bytes, bytearray)):
            return f"<{len(image)} bytes>"
        if isinstance(image, Image.Image):
            return f"<PIL image {image.mode} {image.width}x{image.height}>"
        if isinstance(image, np.ndarray):
            return f"<array {image.dtype} {'x'.join(map(str, image.shape))}>"
        name = getattr(image, "name", None)
        if isinstance(name, str):
            return name
    except Exception:  # naming an input must never be what fails
        pass
    return f"<{type(image).__name__}>"


def read_image_bytes(image: ImageInput) -> bytes:
    """Return the encoded bytes of a path, bytes-like or binary file input, as they are.

    Nothing is decoded: the bytes are those of the file (or of the buffer) byte for byte. A file
    object is read from its current position to its end. Only regular files are opened: a FIFO
    or a device is refused without being opened, and a URL is refused, not downloaded.

    Raises:
        InvalidImageError: the file is missing, is a folder, a FIFO or a device, or cannot be
            read; the path is a URL or too long; a file object was opened in text mode or for
            writing only, or its ``read()`` failed or gave no bytes; or the input is a PIL
            image, an array or another type that has no encoded bytes. The message names the
            input.

    Example:
        >>> import io
        >>> read_image_bytes(io.BytesIO(b"GIF89a..."))
        b'GIF89a...'
        >>> read_image_bytes(bytearray(b"abc"))
        b'abc'
    """
    source = describe(image)
    if isinstance(image, (str, os.PathLike)):
        return read_path(image, source)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    read = getattr(image, "read", None)
    if callable(read):
        return read_file_object(image, source)
    if isinstance(image, (Image.Image, np.ndarray)):
        raise InvalidImageError(
            "a decoded image has no encoded bytes; pass a path, bytes or a binary file, "
            "or encode it with prepare_upload",
            source=source,
        )
    raise InvalidImageError(
        f"cannot use a {type(image).__name__} as an image; pass a path, bytes, a binary file, "
        "a PIL image or a numpy array",
        source=source,
    )


@contextmanager
def decoding_errors(
    source: str, *, what: str = "image", unreadable: str = "not an image Pillow can read"
) -> Iterator[None]:
    """Turn every failure to decode, convert or encode ``what`` (an image, a label map...)
    inside the block into an `InvalidImageError` naming ``source``; ``unreadable`` is the
    message for bytes Pillow does not recognise.

    Example:
        >>> import io
        >>> from PIL import Image
        >>> try:
        ...     with decoding_errors("notes.txt"):
        ...         Image.open(io.BytesIO(b"text"))
        ... except InvalidImageError as error:
        ...     print(error.message)
        not an image Pillow can read
    """
    try:
        with warnings.catch_warnings():
            # Past Pillow's pixel limit it only warns up to 2x; we refuse from 1x.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except InvalidImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InvalidImageError(
            f"refusing a decompression bomb: {error}; "
            f"raise PIL.Image.MAX_IMAGE_PIXELS if the {what} is genuine",
            source=source,
        ) from error
    except UnidentifiedImageError as error:
        raise InvalidImageError(unreadable, source=source) from error
    except MemoryError as error:
        raise InvalidImageError(f"the {what} is too large to decode", source=source) from error
    except Exception as error:  # Pillow's decoders fail on bad data in many different ways
        raise InvalidImageError(
            f"the {what} is damaged or truncated: {error or type(error).__name__}", source=source
        ) from error


def _open_checked(data: bytes, source: str, *, decode: bool = True) -> Image.Image:
    """Open (and, with ``decode``, fully decode) encoded bytes, turning every failure into
    InvalidImageError. Without ``decode`` only the header is read: size, mode, EXIF."""
    if not data:
        raise InvalidImageError("the image is empty (0 bytes)", source=source)
    with decoding_errors(source):
        image = Image.open(io.BytesIO(data))
        if decode:
            image.load()
    return image


def _eight_bits(values: np.ndarray) -> np.ndarray:
    """16-bit values (0..65535) scaled to 8 bits (0..255): value / 257, rounded."""
    wide = np.clip(values, 0, 65535).astype(np.uint32)
    eight: np.ndarray = ((wide + 128) // 257).astype(np.uint8)
    return eight


def _eight_bit_image(image: Image.Image) -> Image.Image:
    # Pillow's own conversion clips 16-bit values at 255, which turns a photo white.
    if image.mode not in _SIXTEEN_BIT_MODES:
        return image
    return Image.fromarray(_eight_bits(np.asarray(image)))


def _from_array(array: np.ndarray, source: str) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidImageError(
            f"an image array must be H×W, H×W×3 or H×W×4, got shape {array.shape}", source=source
        )
    if array.size == 0:
        raise InvalidImageError(f"the image array is empty (shape {array.shape})", source=source)
    kind = array.dtype.kind
    if kind not in "biuf":
        raise InvalidImageError(
            f"an image array must hold numbers (uint8 0..255, uint16, or floats 0..1), got "
            f"dtype {array.dtype}; convert it, e.g. with .astype(np.uint8)",
            source=source,
        )
    if kind == "f" and not np.isfinite(array).all():
        raise InvalidImageError(
            "the image array holds NaN or infinite values; replace them first, e.g. with "
            "np.nan_to_num",
            source=source,
        )
    if kind == "b":
        array = array.astype(np.uint8) * 255
    elif kind == "u" and array.dtype.itemsize == 2:
        array = _eight_bits(array)
    elif array.dtype != np.uint8:
        if kind == "f" and array.min() >= 0 and array.max() <= 1:
            array = np.round(array * 255)
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))


def _to_pil(image: ImageInput) -> tuple[Image.Image, bytes | None]:
    """Decode an input into a PIL image (not yet upright), with its encoded bytes if it had any."""
    source = describe(image)
    if isinstance(image, Image.Image):
        return image, None
    if isinstance(image, np.ndarray):
        return _from_array(image, source), None
    data = read_image_bytes(image)
    return _open_checked(data, source), data


def _upright_size(image: Image.Image) -> tuple[int, int]:
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in _TRANSPOSED_ORIENTATIONS else (width, height)


def _upright(image: Image.Image, *, encoded: bool) -> Image.Image:
    """The pixels as people see them: EXIF orientation applied (for files), 8 bits deep."""
    return _eight_bit_image(ImageOps.exif_transpose(image) if encoded else image)


def _encode_png(image: Image.Image) -> bytes:
    if image.mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _downscaled(image: Image.Image, max_side: int) -> Image.Image:
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return image.resize(size, Image.Resampling.BILINEAR)


def prepare_upload(image: ImageInput, *, max_side: int | None = None) -> Upload:
    """Read an input once and return what to send.

    JPEG, PNG and WebP files are sent byte for byte (the server applies their EXIF
    orientation); PIL images, arrays and other formats (BMP, TIFF, GIF, CMYK, 16-bit...) are
    encoded as PNG, 16-bit ones scaled to 8 bits. With ``max_side``, a photo whose longer side
    exceeds it is turned upright, downscaled and re-encoded (JPEG stays JPEG, the rest becomes
    PNG).

    Raises:
        InvalidImageError: missing file, folder, FIFO or device, URL, empty or truncated file,
            not an image, decompression bomb, unreadable file object, unusable array; the
            message names the input.

    Example:
        >>> import io
        >>> from PIL import Image
        >>> buffer = io.BytesIO()
        >>> Image.new("RGB", (3000, 2000)).save(buffer, format="JPEG")
        >>> upload = prepare_upload(buffer.getvalue(), max_side=1500)
        >>> upload.mime, upload.size, upload.sent_size
        ('image/jpeg', (3000, 2000), (1500, 1000))
    """
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be a positive number of pixels, got {max_side}")
    source = describe(image)
    pil, data = _to_pil(image)
    with decoding_errors(source):
        size = _upright_size(pil) if data is not None else pil.size
        shrink = max_side is not None and max(size) > max_side
        mime = None if _needs_conversion(pil) else _SENT_AS_IS.get(pil.format or "")
        if data is not None and mime is not None and not shrink:
            return Upload(data, mime, size, size)
        # Otherwise send upright pixels, so the server needs no EXIF.
        upright = _upright(pil, encoded=data is not None)
        if max_side is None or not shrink:
            return Upload(_encode_png(upright), "image/png", size, size)
        small = _downscaled(upright, max_side)
        if pil.format == "JPEG":
            buffer = io.BytesIO()
            small.convert("RGB").save(buffer, format="JPEG", quality=92)
            return Upload(buffer.getvalue(), "image/jpeg", size, small.size)
        return Upload(_encode_png(small), "image/png", size, small.size)


def _needs_conversion(image: Image.Image) -> bool:
    # A CMYK JPEG or a 16-bit PNG is valid, but servers decode them unreliably.
    return image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA")


def image_size(image: ImageInput) -> tuple[int, int]:
    """``(width, height)`` of a photo as people see it.

    The EXIF orientation of encoded inputs (paths, bytes, files) is applied; PIL images and
    arrays are taken as they are.

    Raises:
        InvalidImageError: the input cannot be read as an image; the message names it.

    Example:
        >>> import numpy as np
        >>> image_size(np.zeros((20, 30, 3), dtype=np.uint8))
        (30, 20)
    """
    if isinstance(image, Image.Image):
        return image.size
    source = describe(image)
    if isinstance(image, np.ndarray):
        return _from_array(image, source).size
    # The header is enough: no need to decode the pixels for a size.
    header = _open_checked(read_image_bytes(image), source, decode=False)
    with decoding_errors(source):
        return _upright_size(header)


def load_image(image: ImageInput) -> Image.Image:
    """Decode an input into an upright RGB PIL image (a new image; the input is not changed).

    The EXIF orientation of encoded inputs is applied; PIL images and arrays are taken as they
    are; 16-bit images are scaled to 8 bits over their full range.

    Raises:
        InvalidImageError: the input cannot be read as an image; the message names it.

    Example:
        >>> import numpy as np
        >>> picture = load_image(np.zeros((20, 30), dtype=np.uint8))
        >>> picture.mode, picture.size
        ('RGB', (30, 20))
    """
    pil, data = _to_pil(image)
    with decoding_errors(describe(image)):
        upright = _upright(pil, encoded=data is not None)
        if upright.mode != "RGB":
            return upright.convert("RGB")
    # Only the caller's own image needs copying; one decoded here is already new.
    return upright.copy() if upright is image else upright
