"""What every policy document must be: its size limits, and ``DocumentError`` for one that is not.

Rendering, plain text and importing all raise the same error and check the same
limits, so both live here, below all three, and import nothing of theirs.
"""

from __future__ import annotations

MAX_TEXT_CHARS = 200_000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class DocumentError(ValueError):
    """A document cannot be used; the message says why in words a school leader understands."""


def _too_big_message() -> str:
    return f"This file is larger than the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit."


def check_upload_size(data: bytes) -> None:
    if not data:
        raise DocumentError("This file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DocumentError(_too_big_message())


def check_text_length(text: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise DocumentError(f"The policy text is too long: the limit is {MAX_TEXT_CHARS:,} characters.")
