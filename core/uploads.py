"""Checking uploaded files: incidents' evidence and training certificates alike.

What a file is comes from its first bytes, never from its name or the browser's
claimed type. Images are decoded with Pillow (refusing enormous declared
dimensions before any pixels are read) and re-encoded into a fresh image with
no metadata, so the copy staff open carries no GPS position, camera or editing
details. The original is kept untouched, with its SHA-256, as the evidence.
"""

import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a phone's full-resolution photo is about 12-50 MP; a screenshot far less
MAX_SIDE = 20_000
MAX_NAME = 200

SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"%PDF-", "application/pdf", "pdf"),
]
PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
ACCEPTED = "PNG, JPEG, WebP or PDF"


class UploadError(ValueError):
    """A file that cannot be accepted; the message says why, for the person uploading it."""


EvidenceError = UploadError  # the name incidents know it by


@dataclass
class CheckedFile:
    name: str
    content_type: str
    extension: str
    data: bytes
    sha256: str
    viewable: bytes | None = None  # the re-encoded image; None for a PDF (served as received)
    viewable_extension: str = ""
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from a file's first bytes, or None for anything else."""
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def check_name(name: str) -> str:
    if not name or not name.strip():
        raise UploadError("The file has no name.")
    if "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        raise UploadError(f"“{name[:80]}” has a folder path in its name. Rename the file and try again.")
    if len(name) > MAX_NAME:
        raise UploadError(f"The file name is longer than {MAX_NAME} characters. Shorten it and try again.")
    return name


def check_upload(upload) -> CheckedFile:
    """Read and check one uploaded file; raises UploadError and keeps nothing on a bad one."""
    name = check_name(getattr(upload, "name", "") or "")
    if upload.size is not None and upload.size > MAX_BYTES:
        raise UploadError(f"“{name}” is {upload.size / 1024 / 1024:.1f} MB; each file must be 10 MB or less.")
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise UploadError(f"“{name}” is larger than 10 MB; each file must be 10 MB or less.")
    if not data:
        raise UploadError(f"“{name}” is empty.")
    kind = sniff(data[:16])
    if kind is None:
        raise UploadError(
            f"“{name}” is not a {ACCEPTED} file, whatever its name says. Take a screenshot and upload that instead."
        )
    content_type, extension = kind
    checked = CheckedFile(
        name=name,
        content_type=content_type,
        extension=extension,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    if content_type == "application/pdf":
        if b"%%EOF" not in data[-2048:]:
            raise UploadError(f"“{name}” is not a complete PDF file.")
        return checked
    _reencode(checked)
    return checked


def _reencode(checked: CheckedFile) -> None:
    try:
        with Image.open(io.BytesIO(checked.data)) as image:
            if image.format != PILLOW_FORMATS[checked.content_type]:
                raise UploadError(f"“{checked.name}” is not the image it claims to be.")
            width, height = image.size
            # Refused on the declared size, before a single pixel is decoded.
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise UploadError(
                    f"“{checked.name}” declares {width:,} × {height:,} pixels, more than an image of evidence needs. "
                    "Take a screenshot instead."
                )
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image.load()
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)

            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            mode = "RGBA" if has_alpha else "RGB"
            if checked.content_type == "image/jpeg":
                mode = "RGB"
            pixels = image.convert(mode)
            # A new image from the pixels alone: no EXIF, GPS, XMP, ICC or text chunks come along.
            clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    except UploadError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses at open when the declared size is far past its own limit.
        raise UploadError(
            f"“{checked.name}” declares more pixels than an image of evidence needs. Take a screenshot instead."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadError(f"“{checked.name}” could not be read as an image ({type(exc).__name__}).") from exc
    except Image.DecompressionBombWarning as exc:
        raise UploadError(f"“{checked.name}” is too large an image to open safely.") from exc
    out = io.BytesIO()
    if checked.content_type == "image/jpeg":
        clean.save(out, "JPEG", quality=90)
        checked.viewable_extension = "jpg"
    else:
        clean.save(out, "PNG", optimize=False)
        checked.viewable_extension = "png"
    checked.viewable = out.getvalue()
    checked.width, checked.height = width, height


def stored_name(extension: str, *, suffix: str = "") -> str:
    """A random name on disk: the uploaded name is kept only as data, never as a path."""
    return f"{uuid.uuid4().hex}{suffix}.{extension}"
