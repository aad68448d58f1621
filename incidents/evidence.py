"""Evidence files: how many a report may carry; the checks themselves are ``core.uploads``
(training certificates pass the same ones)."""

from core.uploads import (  # noqa: F401  (the names incidents and their tests use)
    ACCEPTED,
    MAX_BYTES,
    CheckedFile,
    EvidenceError,
    check_upload,
    sniff,
    stored_name,
)

MAX_FILES = 10
PUBLIC_MAX_FILES = 3  # the public form's: anonymous senders' bodies are capped (settings.ANONYMOUS_UPLOAD_...)
