"""Importing a policy from a Markdown or plain text export of a school's document.

Reads the title and the fields the file states about itself (version, dates,
approval body, author, review frequency), drops footers and the contents page,
and turns what is left into tidy Markdown for ``rendering.render_markdown``.
Pure functions with no models and no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

from policies.document_limits import DocumentError, check_text_length, check_upload_size

_POLICY_FILE_SUFFIXES = {".md", ".markdown", ".txt"}
_MAX_TITLE_CHARS = 200
_MAX_HEADING_CHARS = 100
_MAX_FIELD_CHARS = 120


@dataclass(frozen=True)
class ParsedPolicy:
    """What an imported file states about itself; anything it does not state is None or ""."""

    title: str
    version_label: str
    date_reviewed: date | None
    next_review_date: date | None
    approval_body: str
    author: str
    review_frequency_months: int | None
    body_markdown: str


_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_MONTH_NUMBERS = {
    name: number for number, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}
_DATE_FORMATS = [
    re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)"),
    # Numeric dates in UK policies are day first: 01/09/2023, 17.07.23.
    re.compile(r"(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})[/.-](?P<year>\d{4}|\d{2})(?!\d)"),
    re.compile(rf"(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?P<year>\d{{4}})(?!\d)", re.I),
    re.compile(rf"{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})(?!\d)", re.I),
    # Month and year alone mean the first of that month.
    re.compile(rf"{_MONTH},?\s+(?P<year>\d{{4}})(?!\d)", re.I),
]


def _parse_date(value: str) -> tuple[date | None, str]:
    """A date at the start of ``value`` and whatever follows it."""
    for pattern in _DATE_FORMATS:
        found = pattern.match(value)
        if not found:
            continue
        parts = found.groupdict()
        month = parts["month"]
        month_number = int(month) if month.isdigit() else _MONTH_NUMBERS[month[:3].lower()]
        year = int(parts["year"])
        year = year + 2000 if year < 100 else year
        try:
            return date(year, month_number, int(parts.get("day") or 1)), value[found.end() :]
        except ValueError:
            return None, value
    return None, value


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "twelve": 12, "eighteen": 18}
_FREQUENCY_IN_WORDS = {
    "annual": 12,
    "annually": 12,
    "yearly": 12,
    "every year": 12,
    "each year": 12,
    "once a year": 12,
    "biennial": 24,
    "biennially": 24,
    "triennial": 36,
    "triennially": 36,
    "monthly": 1,
}
_FREQUENCY_COUNTED = re.compile(r"(?:every\s+)?(?P<count>\d{1,2}|[a-z]+)[\s-]+(?P<unit>year|month)(?:s|ly)?", re.I)


def _parse_frequency(value: str) -> int | None:
    """Months between reviews, from "Annually", "Every 2 years", "Three-yearly"; None for "Termly" and the like."""
    words = " ".join(value.lower().split())
    if words in _FREQUENCY_IN_WORDS:
        return _FREQUENCY_IN_WORDS[words]
    counted = _FREQUENCY_COUNTED.fullmatch(words)
    if not counted:
        return None
    count = counted["count"]
    number = int(count) if count.isdigit() else _NUMBER_WORDS.get(count)
    if not number:
        return None
    return number * 12 if counted["unit"].lower() == "year" else number


_VERSION_VALUE = re.compile(r"v?\.?\s*(?P<number>\d+(?:\.\d+)*)", re.I)
_VERSION_ALONE = re.compile(r"(?:version\s*:?\s*|v)(?P<number>\d+(?:\.\d+)*)", re.I)
# "... Team V2.0" at the end of a line above the first section.
_VERSION_AT_END = re.compile(r"\sV(?P<number>\d+(?:\.\d+)*)$")

# Longer labels come first so "Next review date" is never read as "Review date".
_FIELD_LABELS = [
    ("next_review_date", r"date\s+of\s+next\s+review|next\s+review(?:\s+date)?(?:\s+due)?(?:\s+(?:by|on))?"),
    ("next_review_date", r"review\s+due(?:\s+(?:by|on))?|to\s+be\s+(?:reviewed|revised)(?:\s+(?:by|on|in))?"),
    ("review_frequency_months", r"review\s+frequency|frequency\s+of\s+review|review\s+cycle"),
    ("date_reviewed", r"date\s+(?:last\s+)?reviewed|last\s+review(?:ed)?(?:\s+(?:on|date))?|reviewed\s+on"),
    ("date_reviewed", r"review\s+date"),
    ("version_label", r"version(?:\s+(?:number|no\.?))?"),
    ("approval_body", r"approv(?:al|ing)\s+body|approved\s+by|ratified\s+by"),
    ("author", r"author|written\s+by"),
    # A bare "Date:" only counts beside a next-review date ("Date: May 2022 To be revised: May 2023");
    # on its own it could be the date anything was signed.
    ("issue_date", r"date"),
]
_LABEL_ALTERNATIVES = "|".join(f"(?P<{name}_{index}>{label})" for index, (name, label) in enumerate(_FIELD_LABELS))
_LABEL_AT_START = re.compile(rf"(?:{_LABEL_ALTERNATIVES})\b(?P<separator>[ \t]*(?::|\t|[-–](?=\s))[ \t]*|[ \t]*)", re.I)
_LABEL_LATER = re.compile(rf"\b(?:{_LABEL_ALTERNATIVES})\s*:", re.I)
# Free-text fields need an explicit separator, or "Written by the head teacher, ..." would be read as one.
_NEEDS_SEPARATOR = {"approval_body", "author", "issue_date"}


def _matched_label(found: re.Match) -> str:
    for key, value in found.groupdict().items():
        if value is not None and key != "separator":
            return key.rsplit("_", 1)[0]
    raise AssertionError("a label pattern matched without a label")


def _strip_markup(line: str) -> str:
    """A line without Markdown heading marks, bold, bullets or table pipes."""
    line = re.sub(r"^\s*#{1,6}\s+", "", line)
    line = line.replace("**", "").replace("__", "")
    line = re.sub(r"^\s*[-•*]\s+", "", line)
    return line.strip().strip("|").strip()


def _read_field_line(line: str) -> tuple[dict, bool] | None:
    """The fields a metadata line states, and whether the line holds nothing else.

    None when the line is ordinary text, or when any value on it cannot be read:
    then it stays in the body, so nothing the author wrote is lost.
    """
    plain = _strip_markup(line)
    first = _LABEL_AT_START.match(plain)
    if not first:
        return None
    labels = [(_matched_label(first), first.start(), first.end(), first["separator"])]
    for later in _LABEL_LATER.finditer(plain, first.end()):
        labels.append((_matched_label(later), later.start(), later.end(), ":"))

    fields: dict = {}
    whole_line = True
    for index, (name, _start, end, separator) in enumerate(labels):
        value_end = labels[index + 1][1] if index + 1 < len(labels) else len(plain)
        value = plain[end:value_end].strip(" \t:-–|*")
        if not value or (name in _NEEDS_SEPARATOR and not separator.strip(" ")):
            return None
        if name in {"date_reviewed", "next_review_date", "issue_date"}:
            parsed, rest = _parse_date(value)
            whole_line = whole_line and not rest.strip(" .,;")
        elif name == "version_label":
            number = _VERSION_VALUE.fullmatch(value)
            parsed = number["number"] if number else None
        elif name == "review_frequency_months":
            parsed = _parse_frequency(value.rstrip("."))
        else:
            parsed = value if len(value) <= _MAX_FIELD_CHARS else None
        if parsed is None:
            return None
        fields.setdefault(name, parsed)

    if "issue_date" in fields:
        issue_date = fields.pop("issue_date")
        if "next_review_date" in fields:
            fields.setdefault("date_reviewed", issue_date)
        else:
            whole_line = False
    return fields, whole_line


_SECTION_NUMBER = re.compile(r"(?P<number>\d{1,2}(?:\.\d{1,2}){0,3})(?P<dot>\.?)\s+(?P<text>\S.*)")
_MARKDOWN_HEADING = re.compile(r"(?P<marks>#{1,6})\s+(?P<text>.*)")
_BULLET = re.compile(r"(?P<indent>\s*)(?:[-–—*+o]\s+|[•●◦▪·‣⁃\uf0a7\uf0b7\uf0d8]\s*)(?P<text>\S.*)")
_ORDERED_MARKER = re.compile(r"^(\d+)\.(\s)")


def _section_depth(text: str, *, in_markdown_heading: bool) -> int | None:
    """1 for "4. Training", 2 for "4.2 Training"; None unless the line reads as a short numbered heading."""
    found = _SECTION_NUMBER.fullmatch(text)
    if not found:
        return None
    depth = found["number"].count(".") + 1
    if in_markdown_heading:
        return depth
    heading = found["text"]
    # "1 September" is a date, "4.2 Staff must ... ." a numbered paragraph: neither is a heading.
    if depth == 1 and not found["dot"]:
        return None
    if not heading[0].isalpha() or len(heading) > _MAX_HEADING_CHARS or heading[-1] in ".:;,":
        return None
    return depth


def _without_closing_hashes(text: str) -> str:
    """ "Scope ##" is "Scope"; "C#" stays. Written without a regex, which backtracks badly on long lines."""
    opened = text.rstrip().rstrip("#")
    return opened.rstrip() if not opened or opened[-1].isspace() else text.rstrip()


def _heading(line: str) -> tuple[int, str] | None:
    """(level, text) when the line is a heading, numbered sections levelled by their numbering."""
    stripped = line.strip()
    marked = _MARKDOWN_HEADING.fullmatch(stripped)
    if marked:
        text = _strip_markup(_without_closing_hashes(marked["text"]))
        if not text:
            return None
        depth = _section_depth(text, in_markdown_heading=True)
        # The page title is the only h1; headings in the body start at h2.
        level = depth + 1 if depth else len(marked["marks"])
        return min(max(level, 2), 6), text
    text = _strip_markup(stripped) if stripped.startswith("**") else stripped
    depth = _section_depth(text, in_markdown_heading=False)
    if depth is None or "**" in text:
        return None
    return min(depth + 1, 6), text


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise DocumentError("This file is not a text file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise DocumentError("This file is not a text file that can be read. Save it as UTF-8 text.") from None


def _lines_of(text: str) -> list[str]:
    text = re.sub(r"\r\n?|[\f\v\u2028\u2029]", "\n", text)
    text = re.sub(r"[\x01-\x08\x0e-\x1f\x7f]", "", text)
    return [line.rstrip() for line in text.split("\n")]


def _first_heading_index(lines: list[str]) -> int:
    return next((index for index, line in enumerate(lines) if _heading(line)), len(lines))


def _take_fields(lines: list[str]) -> tuple[dict, list[str]]:
    """Fields the file states, first mention winning, and the lines left for the body.

    Lines that hold only fields are removed wherever they are: page footers
    such as "Date: ... To be revised: ..." repeat on every page of an export.
    """
    fields: dict = {}
    kept = []
    front_matter_ends = _first_heading_index(lines)
    for index, line in enumerate(lines):
        read = _read_field_line(line)
        if read:
            stated, whole_line = read
            for name, value in stated.items():
                fields.setdefault(name, value)
            if whole_line:
                continue
        elif index < front_matter_ends:
            alone = _VERSION_ALONE.fullmatch(_strip_markup(line))
            if alone:
                fields.setdefault("version_label", alone["number"])
                continue
            at_end = _VERSION_AT_END.search(line.strip())
            if at_end:
                fields.setdefault("version_label", at_end["number"])
        kept.append(line)
    return fields, kept


_CONTENTS_HEADING = re.compile(r"(?:table\s+of\s+)?contents?:?", re.I)
_PAGE_NUMBER_AT_END = re.compile(r"(?:page\s+)?\d{1,3}(?:\s*[-–]\s*\d{1,3})?$", re.I)


def _is_contents_entry(line: str) -> bool:
    """ "1. INTRODUCTION<tab>3", "Scope ..... 4", "Procedure 3-4": text, then a gap or dot leader, then a page."""
    line = line.strip()
    page = _PAGE_NUMBER_AT_END.search(line)
    if not page:
        return False
    entry = line[: page.start()]
    return bool(entry.strip(" \t.")) and (entry[-1:].isspace() or entry.endswith(".."))


def _drop_contents(lines: list[str]) -> list[str]:
    """Without the first table of contents: the page numbers mean nothing on screen."""
    start = next((i for i, line in enumerate(lines) if _CONTENTS_HEADING.fullmatch(_strip_markup(line))), None)
    if start is None:
        return lines
    last_entry = None
    for index in range(start + 1, len(lines)):
        if not lines[index].strip():
            continue
        if not _is_contents_entry(lines[index]):
            break
        last_entry = index
    if last_entry is None:
        return lines
    return lines[:start] + lines[last_entry + 1 :]


def _take_title(lines: list[str]) -> tuple[str, list[str]]:
    """The first meaningful line, joined with any level-1 headings straight after it."""
    start = next((i for i, line in enumerate(lines) if len(re.findall(r"[^\W\d_]", _strip_markup(line))) >= 2), None)
    if start is None or (_heading(lines[start]) and _SECTION_NUMBER.fullmatch(_strip_markup(lines[start]))):
        raise DocumentError("The file should start with the policy's title on a line of its own.")

    parts = [_strip_markup(lines[start])]
    end = start + 1
    if lines[start].lstrip().startswith("# "):
        # "# Learning and Skills Service" then "# Social Media Policy" is one title over two lines.
        for index in range(start + 1, len(lines)):
            line = lines[index].strip()
            if not line:
                continue
            if not line.startswith("# ") or _section_depth(_strip_markup(line), in_markdown_heading=True):
                break
            parts.append(_strip_markup(line))
            end = index + 1

    title = " ".join(" ".join(parts).split()).strip(" *_:")
    if len(title) > _MAX_TITLE_CHARS:
        raise DocumentError("The file should start with the policy's title on a line of its own.")
    return title, lines[:start] + lines[end:]


def _escape_ordered_marker(text: str) -> str:
    """Keep "4. Staff must ..." as written: Markdown would renumber it as a list starting at 1."""
    return _ORDERED_MARKER.sub(r"\1\\.\2", text)


def _to_markdown(lines: list[str]) -> str:
    """Plain-text policy lines as Markdown: headings, "- " lists and blank-line paragraphs."""
    output: list[str] = []
    previous = "blank"

    def start_block(kind: str) -> None:
        # Markdown needs a blank line wherever one kind of block gives way to another.
        if previous not in {"blank", kind} or kind == "heading":
            output.append("")

    for line in lines:
        if not line.strip():
            output.append("")
            previous = "blank"
            continue
        heading = _heading(line)
        bullet = _BULLET.fullmatch(line)
        stripped = " ".join(line.split())
        if heading:
            level, text = heading
            start_block("heading")
            output.extend([f"{'#' * level} {text}", ""])
            previous = "blank"
        elif bullet:
            nested = previous == "item" and bullet["indent"] != ""
            start_block("item")
            text = _escape_ordered_marker(" ".join(bullet["text"].split()))
            output.append(f"{'    ' if nested else ''}- {text}")
            previous = "item"
        elif previous == "item" and line[:1].isspace():
            # An indented line under a bullet carries on that bullet's sentence.
            output[-1] = f"{output[-1]} {stripped}"
        elif re.fullmatch(r"[-=_*]{3,}", stripped.replace(" ", "")):
            # A line of dashes under a paragraph would turn it into a heading.
            start_block("heading")
            output.extend(["---", ""])
            previous = "blank"
        elif stripped.startswith("|"):
            start_block("table")
            output.append(stripped)
            previous = "table"
        elif stripped.startswith(">"):
            start_block("quote")
            output.append(stripped)
            previous = "quote"
        else:
            start_block("paragraph")
            output.append(_escape_ordered_marker(re.sub(r"^#", r"\\#", stripped)))
            previous = "paragraph"

    markdown_text = "\n".join(output)
    return re.sub(r"\n{3,}", "\n\n", markdown_text).strip() + "\n"


def parse_policy_file(data: bytes, filename: str) -> ParsedPolicy:
    """A policy imported from a Markdown (.md) or plain text (.txt) export of a school's document.

    Reads only what the file states: a field it does not state is left empty
    for a person to fill in, never guessed.
    """
    if PurePath(filename or "").suffix.lower() not in _POLICY_FILE_SUFFIXES:
        raise DocumentError("Only Markdown (.md) or plain text (.txt) files can be imported as a policy.")
    check_upload_size(data)
    text = _decode(data)
    if not text.strip():
        raise DocumentError("This file is empty.")
    check_text_length(text)

    fields, lines = _take_fields(_lines_of(text))
    title, lines = _take_title(_drop_contents(lines))
    body = _to_markdown(lines)
    if not body.strip():
        raise DocumentError("This file has a title but no policy text.")
    return ParsedPolicy(
        title=title,
        version_label=fields.get("version_label", ""),
        date_reviewed=fields.get("date_reviewed"),
        next_review_date=fields.get("next_review_date"),
        approval_body=fields.get("approval_body", ""),
        author=fields.get("author", ""),
        review_frequency_months=fields.get("review_frequency_months"),
        body_markdown=body,
    )
