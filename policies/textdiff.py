"""The text staff read and what changed in it: the visible text of a version's HTML, and a readable diff of two.

Pure functions with no models and no database. Every piece of text a diff shows is escaped.
"""

from __future__ import annotations

import difflib
import html
import itertools
import re
from html.parser import HTMLParser

_BLOCK_TAGS = {
    *(f"h{level}" for level in range(1, 7)),
    "p",
    "div",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "blockquote",
    "pre",
    "hr",
    "br",
    "section",
    "article",
    "header",
    "footer",
    "dl",
    "dt",
    "dd",
    "caption",
}
_CELL_TAGS = {"td", "th"}
_HIDDEN_TAGS = {"script", "style", "template", "head", "title"}


class _VisibleText(HTMLParser):
    """Collects the text a reader sees: one line per block, cells separated by tabs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._pieces: list[str] = []
        self._hidden_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif tag in _BLOCK_TAGS:
            self._end_line()
            if tag == "pre":
                self._pre_depth += 1
        elif tag in _CELL_TAGS and self._pieces:
            self._pieces.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._end_line()
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        if self._pre_depth:
            # Preformatted text keeps its own line breaks.
            first, *rest = data.split("\n")
            self._pieces.append(first)
            for line in rest:
                self._end_line()
                self._pieces.append(line)
        else:
            self._pieces.append(re.sub(r"[^\S\t]+", " ", data))

    def close(self) -> None:
        super().close()
        self._end_line()

    def _end_line(self) -> None:
        text = "".join(self._pieces)
        self._pieces = []
        line = text.rstrip() if self._pre_depth else re.sub(r" *\t *", "\t", text).strip()
        if line.strip():
            self.lines.append(line)


def plain_text_of(html_text: str) -> str:
    """The visible text of (sanitised) HTML, one block to a line, for diffs and search."""
    parser = _VisibleText()
    parser.feed(html_text)
    parser.close()
    return "\n".join(parser.lines)


_MAX_WORD_PAIRS = 1_000_000


def _paragraphs(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _unchanged_note(count: int) -> str:
    noun = "paragraph" if count == 1 else "paragraphs"
    return f'<p class="diff-unchanged">… {count} unchanged {noun} …</p>'


def _word_diff(before: str, after: str) -> str:
    old_words, new_words = before.split(), after.split()
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    marked = []
    for operation, i1, i2, j1, j2 in matcher.get_opcodes():
        removed = html.escape(" ".join(old_words[i1:i2]))
        added = html.escape(" ".join(new_words[j1:j2]))
        if operation == "equal":
            marked.append(added)
        if operation in {"delete", "replace"}:
            marked.append(f"<del>{removed}</del>")
        if operation in {"insert", "replace"}:
            marked.append(f"<ins>{added}</ins>")
    return " ".join(marked)


def _changed_paragraph(before: str, after: str) -> list[str | int]:
    if before == after:
        # The matcher skips paragraphs repeated very often, so it can pair two equal ones.
        return [1]
    if len(before.split()) * len(after.split()) > _MAX_WORD_PAIRS:
        # Word by word, two huge paragraphs take seconds to compare: show them whole.
        return [
            f'<p class="diff-removed"><del>{html.escape(before)}</del></p>',
            f'<p class="diff-added"><ins>{html.escape(after)}</ins></p>',
        ]
    return [f'<p class="diff-changed">{_word_diff(before, after)}</p>']


def _collapse_unchanged(rows: list[str | int]) -> list[str]:
    """Rows of HTML, with each run of unchanged-paragraph counts folded into one note."""
    collapsed = []
    for is_count, run in itertools.groupby(rows, key=lambda row: isinstance(row, int)):
        if is_count:
            collapsed.append(_unchanged_note(sum(run)))
        else:
            collapsed.extend(run)
    return collapsed


def readable_diff(old: str, new: str) -> str:
    """What changed between two versions' plain texts, as HTML a teacher can skim.

    Paragraphs are compared first so a moved comma shows as one changed
    paragraph rather than a wall of red and green; unchanged stretches collapse
    to a count. Every piece of text is escaped. Empty when nothing changed.
    """
    old_paragraphs, new_paragraphs = _paragraphs(old), _paragraphs(new)
    if old_paragraphs == new_paragraphs:
        return ""

    rows: list[str | int] = []  # an int counts unchanged paragraphs
    # autojunk stays on: a paragraph repeated thousands of times would otherwise make
    # the comparison take minutes, and real policies repeat hardly any.
    matcher = difflib.SequenceMatcher(None, old_paragraphs, new_paragraphs)
    for operation, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = old_paragraphs[i1:i2], new_paragraphs[j1:j2]
        if operation == "equal":
            rows.append(len(added))
            continue
        paired = min(len(removed), len(added)) if operation == "replace" else 0
        for before, after in zip(removed[:paired], added[:paired], strict=True):
            rows.extend(_changed_paragraph(before, after))
        rows.extend(f'<p class="diff-removed"><del>{html.escape(text)}</del></p>' for text in removed[paired:])
        rows.extend(f'<p class="diff-added"><ins>{html.escape(text)}</ins></p>' for text in added[paired:])
    return '<div class="policy-diff">\n' + "\n".join(_collapse_unchanged(rows)) + "\n</div>"
