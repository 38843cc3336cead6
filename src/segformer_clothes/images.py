"""Turning any image input (path, bytes, file, PIL image, numpy array) into what is sent.

`prepare_upload` reads an input once and returns the bytes to POST, their MIME type and the
size of the photo as people see it (EXIF orientation applied). `load_image` decodes an input
into an upright RGB PIL image, for overlays and cut-outs. `read_image_bytes` returns the encoded
bytes of a file-like input as they are. `describe` names an input in a few words, for ``source``
and error messages. `PHOTO_SUFFIXES` lists the file suffixes taken for photos when a folder is
read.

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
from pathlib import Path
from typing import IO, TypeAlias

import attrs
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InvalidImageError

__all__ = [
    "PHOTO_SUFFIXES",
    "ImageInput",
    "Upload",
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
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return f"<{len(image)} bytes>"
    if isinstance(image, Image.Image):
        return f"<PIL image {image.mode} {image.width}x{image.height}>"
    if isinstance(image, np.ndarray):
        return f"<array {image.dtype} {'x'.join(map(str, image.shape))}>"
    name = getattr(image, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(image).__name__}>"


def read_image_bytes(image: ImageInput) -> bytes:
    """Return the encoded bytes of a path, bytes-like or binary file input, as they are.

    Nothing is decoded: the bytes are those of the file (or of the buffer) byte for byte. A file
    object is read from its current position to its end.

    Raises:
        InvalidImageError: the file is missing, is a folder or cannot be read; a file object was
            opened in text mode; or the input is a PIL image, an array or another type that has
            no encoded bytes. The message names the input.

    Example:
        >>> import io
        >>> read_image_bytes(io.BytesIO(b"GIF89a..."))
        b'GIF89a...'
        >>> read_image_bytes(bytearray(b"abc"))
        b'abc'
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.exists():
            raise InvalidImageError("file not found; check the path", source=describe(image))
        if path.is_dir():
            raise InvalidImageError("is a folder, not an image file", source=describe(image))
        try:
            return path.read_bytes()
        except OSError as error:
            raise InvalidImageError(
                f"cannot read the file: {error.strerror}", source=describe(image)
            ) from error
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    read = getattr(image, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, bytes):
            raise InvalidImageError(
                "the file object returned text; open it in binary mode ('rb')",
                source=describe(image),
            )
        return data
    if isinstance(image, (Image.Image, np.ndarray)):
        raise InvalidImageError(
            "a decoded image has no encoded bytes; pass a path, bytes or a binary file, "
            "or encode it with prepare_upload",
            source=describe(image),
        )
    raise InvalidImageError(
        f"cannot use a {type(image).__name__} as an image; pass a path, bytes, a binary file, "
        "a PIL image or a numpy array",
        source=describe(image),
    )


def _open_checked(data: bytes, source: str, *, decode: bool = True) -> Image.Image:
    """Open (and, with ``decode``, fully decode) encoded bytes, turning every failure into
    InvalidImageError. Without ``decode`` only the header is read: size, mode, EXIF."""
    if not data:
        raise InvalidImageError("the image is empty (0 bytes)", source=source)
    try:
        with warnings.catch_warnings():
            # Past Pillow's pixel limit it only warns up to 2x; we refuse from 1x.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if decode:
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InvalidImageError(
            f"refusing a decompression bomb: {error}; "
            "raise PIL.Image.MAX_IMAGE_PIXELS if the image is genuine",
            source=source,
        ) from error
    except UnidentifiedImageError as error:
        raise InvalidImageError("not an image Pillow can read", source=source) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise InvalidImageError(
            f"the image is damaged or truncated: {error}", source=source
        ) from error
    return image


def _from_array(array: np.ndarray, source: str) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidImageError(
            f"an image array must be H×W, H×W×3 or H×W×4, got shape {array.shape}", source=source
        )
    if array.size == 0:
        raise InvalidImageError(f"the image array is empty (shape {array.shape})", source=source)
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.min() >= 0 and array.max() <= 1:
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


def _encode_png(image: Image.Image) -> bytes:
    if image.mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _downscaled(image: Image.Image, max_side: int, *, encoded: bool) -> Image.Image:
    if encoded:
        image = ImageOps.exif_transpose(image)
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
    encoded as PNG. With ``max_side``, a photo whose longer side exceeds it is turned upright,
    downscaled and re-encoded (JPEG stays JPEG, the rest becomes PNG).

    Raises:
        InvalidImageError: missing file, folder, empty or truncated file, not an image,
            decompression bomb, unusable array; the message names the input.

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
    size = _upright_size(pil) if data is not None else pil.size
    if max_side is not None and max(size) > max_side:
        small = _downscaled(pil, max_side, encoded=data is not None)
        if pil.format == "JPEG":
            buffer = io.BytesIO()
            small.convert("RGB").save(buffer, format="JPEG", quality=92)
            return Upload(buffer.getvalue(), "image/jpeg", size, small.size)
        return Upload(_encode_png(small), "image/png", size, small.size)
    if data is not None and pil.format in _SENT_AS_IS and not _needs_conversion(pil):
        return Upload(data, _SENT_AS_IS[pil.format], size, size)
    if data is not None:
        # Other formats: send upright PNG pixels, so the server needs no EXIF.
        pil = ImageOps.exif_transpose(pil)
    try:
        return Upload(_encode_png(pil), "image/png", size, size)
    except (OSError, ValueError) as error:
        raise InvalidImageError(
            f"cannot encode the image as PNG: {error}", source=source
        ) from error


def _needs_conversion(image: Image.Image) -> bool:
    # A CMYK JPEG or a 16-bit PNG is valid, but servers decode them unreliably.
    return image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA")


def image_size(image: ImageInput) -> tuple[int, int]:
    """``(width, height)`` of a photo as people see it.

    The EXIF orientation of encoded inputs (paths, bytes, files) is applied; PIL images and
    arrays are taken as they are.

    Example:
        >>> import numpy as np
        >>> image_size(np.zeros((20, 30, 3), dtype=np.uint8))
        (30, 20)
    """
    if isinstance(image, Image.Image):
        return image.size
    if isinstance(image, np.ndarray):
        return _from_array(image, describe(image)).size
    # The header is enough: no need to decode the pixels for a size.
    return _upright_size(_open_checked(read_image_bytes(image), describe(image), decode=False))


def load_image(image: ImageInput) -> Image.Image:
    """Decode an input into an upright RGB PIL image (a new image; the input is not changed).

    The EXIF orientation of encoded inputs is applied; PIL images and arrays are taken as they are.

    Raises:
        InvalidImageError: the input cannot be read as an image.

    Example:
        >>> import numpy as np
        >>> picture = load_image(np.zeros((20, 30), dtype=np.uint8))
        >>> picture.mode, picture.size
        ('RGB', (30, 20))
    """
    pil, data = _to_pil(image)
    upright = ImageOps.exif_transpose(pil) if data is not None else pil
    if upright.mode != "RGB":
        return upright.convert("RGB")
    # Only the caller's own image needs copying; one decoded here is already new.
    return upright.copy() if upright is image else upright
