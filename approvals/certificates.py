"""Training certificates: a PDF, PNG or JPEG file, told by its content, never its name.

A local check of the first bytes rather than ``incidents.evidence.sniff``: approvals sits
beside incidents, not on it, and certificates need only these three types.
"""

import secrets
from pathlib import PurePosixPath

SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
)
EXTENSIONS = frozenset(extension for _, extension in SIGNATURES)
MAX_BYTES = 10 * 1024 * 1024


def certificate_type(head: bytes) -> str | None:
    """The extension for a certificate starting with ``head`` ("pdf", "png" or "jpg"), or None."""
    for signature, extension in SIGNATURES:
        if head.startswith(signature):
            return extension
    return None


def random_name(filename: str) -> str:
    """A fresh random name, keeping the extension only when it is one a certificate may have."""
    extension = PurePosixPath(filename).suffix.lower().lstrip(".")
    return secrets.token_hex(16) + (f".{extension}" if extension in EXTENSIONS else "")
