"""Policy text as safe HTML: Markdown and Word documents rendered and sanitised, PDFs checked, texts fingerprinted.

Pure functions with no models and no database, so views, forms and tasks can all
call them. Anything a person can get wrong raises ``DocumentError`` with a
sentence a school leader can act on; the form shows it as it is.

Uploaded text is never trusted: every path to HTML ends in ``_sanitise``, which
keeps only the tags a policy needs and only http, https and mailto links.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import mammoth
import nh3
from markdown_it import MarkdownIt

from policies.document_limits import MAX_UPLOAD_BYTES, DocumentError, check_text_length, check_upload_size
from policies.textdiff import plain_text_of

# A .docx is compressed; a small file can unpack to something huge (a "zip bomb").
_MAX_DOCX_UNPACKED_BYTES = 10 * MAX_UPLOAD_BYTES
# The PDF specification lets readers look for %%EOF in the last 1024 bytes.
_PDF_EOF_WINDOW = 1024

_ALLOWED_TAGS = {
    *(f"h{level}" for level in range(1, 7)),
    "p",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "blockquote",
    "code",
    "pre",
    "hr",
    "br",
}

_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}},
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def _sanitise(unsafe_html: str) -> str:
    return _CLEANER.clean(unsafe_html).strip()


# CommonMark with tables, parsed in linear time. Raw HTML is let through to
# nh3, which removes what a policy does not need. The nesting limit is
# markdown-it's own for CommonMark: a paragraph of unclosed brackets costs time
# in proportion to it, and it still allows lists nine deep. Past it markdown-it
# stops parsing and drops the rest of the text, so a text that reaches it is
# refused rather than shown with its end missing.
_MAX_NESTING = 20
_MARKDOWN = MarkdownIt("commonmark", {"maxNesting": _MAX_NESTING}).enable("table")
# Every link is left to nh3, which keeps only http, https and mailto: markdown-it's
# own check would show a refused link to readers as its raw Markdown instead.
_MARKDOWN.validateLink = lambda url: True


def render_markdown(text: str) -> str:
    """Policy text written in Markdown, as HTML that is safe to show to every member of staff."""
    if not text or not text.strip():
        raise DocumentError("The policy text is empty.")
    check_text_length(text)
    tokens = _MARKDOWN.parse(text)
    if any(token.nesting == 1 and token.level >= _MAX_NESTING - 1 for token in tokens):
        # No real policy nests lists or quotes this deep.
        raise DocumentError("The policy text has lists or quotes nested too deeply to display.")
    rendered = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    return _below_page_title(_sanitise(rendered))


_HEADING_TAG = re.compile(r"<(/?)h([1-5])\b")


def _below_page_title(html_text: str) -> str:
    """The page already has the policy's title as its one <h1>: a text that opens with its own
    top-level heading is moved down a level, so the headings still nest properly."""
    if "<h1" not in html_text:
        return html_text
    return _HEADING_TAG.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", html_text)


def check_pdf(data: bytes) -> None:
    """Refuse anything that is not really a PDF, judged by its content, never by its name."""
    check_upload_size(data)
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-_PDF_EOF_WINDOW:]:
        raise DocumentError("This file is not a PDF document.")


def convert_docx(data: bytes) -> str:
    """A Word (.docx) document as sanitised HTML."""
    check_upload_size(data)
    not_docx = DocumentError("This file is not a Word (.docx) document.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked_bytes = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise not_docx from None
    if "word/document.xml" not in names:
        raise not_docx
    if unpacked_bytes > _MAX_DOCX_UNPACKED_BYTES:
        raise DocumentError("This Word document is too large to open safely.")

    try:
        result = mammoth.convert_to_html(io.BytesIO(data))
    except Exception as error:
        # mammoth and the XML and zip readers beneath it raise many kinds of
        # error for a damaged file; to the person uploading it they all mean the same.
        raise DocumentError("This Word document is damaged and could not be read.") from error

    converted = _sanitise(result.value)
    text = plain_text_of(converted)
    if not text.strip():
        raise DocumentError("This Word document has no text in it.")
    check_text_length(text)
    return converted


def text_sha256(text: str | bytes) -> str:
    """Hex SHA-256 of exactly what staff were shown, so an acknowledgement names one text."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return hashlib.sha256(data).hexdigest()
