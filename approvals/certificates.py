"""Training certificates, checked exactly as incidents' evidence is (``core.uploads``): what a
file is comes from its content, never its name; sizes are capped; an image is decoded and
re-encoded without its metadata (no GPS position or camera details travel with a certificate);
a PDF must be complete. Kept under a random name."""

import secrets
from pathlib import PurePosixPath

from core.uploads import ACCEPTED, MAX_BYTES, UploadError, check_upload

__all__ = ["ACCEPTED", "EXTENSIONS", "MAX_BYTES", "UploadError", "checked_certificate", "random_name"]

# What a kept certificate can be: a PDF as received, or an image re-encoded as PNG or JPEG.
EXTENSIONS = frozenset({"pdf", "png", "jpg"})


def checked_certificate(upload) -> tuple[bytes, str]:
    """(the bytes to keep, their extension) for an acceptable certificate; ``UploadError`` saying
    why otherwise. The upload is left at its start, so it can be read again."""
    try:
        checked = check_upload(upload)
    finally:
        upload.seek(0)
    if checked.viewable is not None:
        return checked.viewable, checked.viewable_extension
    return checked.data, checked.extension


def random_name(filename: str) -> str:
    """A fresh random name, keeping the extension only when it is one a certificate may have."""
    extension = PurePosixPath(filename).suffix.lower().lstrip(".")
    return secrets.token_hex(16) + (f".{extension}" if extension in EXTENSIONS else "")
