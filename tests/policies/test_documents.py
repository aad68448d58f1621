import hashlib
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest

from policies.documents import (
    MAX_TEXT_CHARS,
    MAX_UPLOAD_BYTES,
    DocumentError,
    ParsedPolicy,
    check_pdf,
    convert_docx,
    parse_policy_file,
    plain_text_of,
    readable_diff,
    render_markdown,
    text_sha256,
)

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"

# ---------------------------------------------------------------------------
# Building small real files
# ---------------------------------------------------------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml"
 ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>"""

ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PACKAGE_RELS}">
<Relationship Id="rId1" Target="word/document.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>
</Relationships>"""


def paragraph(text, style=None):
    properties = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p>{properties}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def make_docx(*paragraphs, hyperlink=None, document_xml=None):
    """A real, minimal Word document built with zipfile: no python-docx needed."""
    body = "".join(paragraphs)
    document_rels = None
    if hyperlink:
        body += f'<w:p><w:hyperlink r:id="rId9"><w:r><w:t>{hyperlink[1]}</w:t></w:r></w:hyperlink></w:p>'
        document_rels = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PACKAGE_RELS}">'
            f'<Relationship Id="rId9" Target="{hyperlink[0]}" TargetMode="External" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"/></Relationships>'
        )
    if document_xml is None:
        document_xml = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<w:document xmlns:w="{W}" xmlns:r="{R}"><w:body>{body}</w:body></w:document>'
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("word/document.xml", document_xml)
        if document_rels:
            archive.writestr("word/_rels/document.xml.rels", document_rels)
    return buffer.getvalue()


def sample_docx():
    return make_docx(
        paragraph("Mobile phones", style="Heading1"),
        paragraph("Staff keep their phones out of sight in lessons."),
        paragraph("Visitors are asked to do the same."),
    )


MINIMAL_PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


# ---------------------------------------------------------------------------
# DocumentError and limits
# ---------------------------------------------------------------------------


def test_a_document_error_is_a_value_error_with_a_plain_sentence():
    with pytest.raises(ValueError) as refused:
        check_pdf(b"hello")
    assert isinstance(refused.value, DocumentError)
    assert str(refused.value) == "This file is not a PDF document."


def test_the_limits_are_two_hundred_thousand_characters_and_ten_megabytes():
    assert MAX_TEXT_CHARS == 200_000
    assert MAX_UPLOAD_BYTES == 10 * 1024 * 1024


# ---------------------------------------------------------------------------
# render_markdown
# ---------------------------------------------------------------------------


def test_it_renders_headings_emphasis_lists_and_tables():
    html = render_markdown(
        "## 1. Introduction\n\nStaff **must** read this *carefully*.\n\n- one\n- two\n\n"
        "| Role | Name |\n|---|---|\n| DSL | A. Teacher |\n"
    )
    assert "<h2>1. Introduction</h2>" in html
    assert "<strong>must</strong>" in html and "<em>carefully</em>" in html
    assert "<ul>" in html and "<li>one</li>" in html
    assert "<table>" in html and "<th>Role</th>" in html and "<td>DSL</td>" in html


def test_it_keeps_a_numbered_list_and_a_bullet_list_apart():
    html = render_markdown("1. First\n2. Second\n\n* A bullet\n")
    assert "<ol>" in html and "<ul>" in html


def test_it_removes_script_tags_and_their_content():
    html = render_markdown("Before\n\n<script>alert('hacked')</script>\n\nAfter")
    assert "<script" not in html and "alert" not in html
    assert "Before" in html and "After" in html


def test_it_removes_onerror_and_other_event_attributes():
    html = render_markdown('<img src="x" onerror="alert(1)"> <p onclick="steal()">Hello</p>')
    assert "onerror" not in html and "onclick" not in html and "<img" not in html
    assert "Hello" in html


def test_it_removes_javascript_links_but_keeps_web_and_email_links():
    html = render_markdown(
        "[bad](javascript:alert(1)) [also bad](/relative) [web](https://www.gov.uk/) [mail](mailto:dsl@school.example)"
    )
    assert "javascript" not in html and 'href="/relative"' not in html
    assert '<a href="https://www.gov.uk/" rel="noopener noreferrer">web</a>' in html
    assert '<a href="mailto:dsl@school.example" rel="noopener noreferrer">mail</a>' in html


def test_it_strips_tags_and_attributes_policies_do_not_need():
    html = render_markdown('<div style="position:fixed">Notice</div>\n\n<iframe src="https://x.example"></iframe>')
    assert "<div" not in html and "style" not in html and "<iframe" not in html
    assert "Notice" in html


@pytest.mark.parametrize("text", ["", "   \n\t\n"])
def test_it_refuses_empty_policy_text(text):
    with pytest.raises(DocumentError, match="empty"):
        render_markdown(text)


def test_it_refuses_policy_text_over_the_limit():
    with pytest.raises(DocumentError, match="too long"):
        render_markdown("a" * (MAX_TEXT_CHARS + 1))


def test_it_accepts_policy_text_at_the_limit():
    assert render_markdown("a" * MAX_TEXT_CHARS).startswith("<p>")


def test_it_renders_a_long_ordinary_policy():
    section = (
        "## {n}. Section\n\nStaff & pupils (see [guidance](https://www.gov.uk/)) must_not share **passwords**.\n\n"
        "- One\n- Two\n\n"
    )
    text = "".join(section.format(n=n) for n in range(1, 1000))[:MAX_TEXT_CHARS]
    html = render_markdown(text)
    assert html.count("<h2>") > 900


@pytest.mark.parametrize("hostile", ["[" * 100_000, "![" * 50_000, "<a>" * 60_000, "`a`" * 60_000])
def test_it_refuses_a_paragraph_of_markup_that_would_take_minutes_to_render(hostile):
    with pytest.raises(DocumentError, match="Split it into shorter paragraphs"):
        render_markdown(hostile)


def test_it_refuses_lists_nested_thousands_deep():
    with pytest.raises(DocumentError, match="nested too deeply"):
        render_markdown("1. " * 3000)


# ---------------------------------------------------------------------------
# check_pdf
# ---------------------------------------------------------------------------


def test_it_accepts_a_real_pdf():
    assert check_pdf(MINIMAL_PDF) is None


def test_it_refuses_a_renamed_text_file_as_pdf():
    with pytest.raises(DocumentError, match="not a PDF"):
        check_pdf(b"Staff must not share passwords.\n")


def test_it_refuses_a_pdf_cut_off_before_its_end():
    with pytest.raises(DocumentError, match="not a PDF"):
        check_pdf(MINIMAL_PDF.replace(b"%%EOF", b""))


def test_it_refuses_a_pdf_marker_that_is_not_at_the_start():
    with pytest.raises(DocumentError, match="not a PDF"):
        check_pdf(b"  \n" + MINIMAL_PDF)


def test_it_refuses_a_pdf_whose_end_marker_is_far_from_the_end():
    with pytest.raises(DocumentError, match="not a PDF"):
        check_pdf(MINIMAL_PDF + b"%" * 2048)


def test_it_refuses_an_empty_pdf_upload():
    with pytest.raises(DocumentError, match="empty"):
        check_pdf(b"")


def test_it_refuses_an_oversize_pdf():
    oversize = b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES + b"\n%%EOF\n"
    with pytest.raises(DocumentError, match="10 MB"):
        check_pdf(oversize)


# ---------------------------------------------------------------------------
# convert_docx
# ---------------------------------------------------------------------------


def test_it_converts_a_word_document_with_a_heading_and_paragraphs():
    html = convert_docx(sample_docx())
    assert html == (
        "<h1>Mobile phones</h1>"
        "<p>Staff keep their phones out of sight in lessons.</p>"
        "<p>Visitors are asked to do the same.</p>"
    )


def test_it_shows_script_written_in_a_word_document_as_text():
    html = convert_docx(make_docx(paragraph("&lt;script&gt;alert(1)&lt;/script&gt;")))
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_it_removes_javascript_links_from_a_word_document():
    html = convert_docx(make_docx(paragraph("Read this"), hyperlink=("javascript:alert(1)", "Click me")))
    assert "javascript" not in html
    assert "Click me" in html


def test_it_keeps_web_links_in_a_word_document():
    html = convert_docx(make_docx(paragraph("Guidance"), hyperlink=("https://www.gov.uk/", "KCSIE")))
    assert '<a href="https://www.gov.uk/" rel="noopener noreferrer">KCSIE</a>' in html


def test_it_refuses_a_zip_that_is_not_a_docx():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photos/trip.jpg", b"\xff\xd8\xff")
    with pytest.raises(DocumentError, match=r"not a Word \(\.docx\) document"):
        convert_docx(buffer.getvalue())


def test_it_refuses_a_renamed_text_file_as_docx():
    with pytest.raises(DocumentError) as refused:
        convert_docx(b"Just some text saved with the wrong name.")
    assert str(refused.value) == "This file is not a Word (.docx) document."


def test_it_refuses_a_pdf_as_docx():
    with pytest.raises(DocumentError, match="not a Word"):
        convert_docx(MINIMAL_PDF)


def test_it_refuses_a_damaged_word_document():
    with pytest.raises(DocumentError, match="damaged"):
        convert_docx(make_docx(document_xml="<w:document><unclosed"))


def test_it_refuses_a_word_document_with_no_text():
    with pytest.raises(DocumentError, match="no text"):
        convert_docx(make_docx(paragraph("   ")))


def test_it_refuses_an_empty_docx_upload():
    with pytest.raises(DocumentError, match="empty"):
        convert_docx(b"")


def test_it_refuses_an_oversize_docx():
    oversize = sample_docx() + b"\0" * MAX_UPLOAD_BYTES
    with pytest.raises(DocumentError, match="10 MB"):
        convert_docx(oversize)


def test_it_refuses_a_small_docx_that_unpacks_to_something_huge():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("word/document.xml", "w") as bomb:
            chunk = b" " * (1024 * 1024)
            for _ in range(10 * MAX_UPLOAD_BYTES // len(chunk) + 1):
                bomb.write(chunk)
    assert len(buffer.getvalue()) < MAX_UPLOAD_BYTES
    with pytest.raises(DocumentError, match="too large"):
        convert_docx(buffer.getvalue())


# ---------------------------------------------------------------------------
# plain_text_of and text_sha256
# ---------------------------------------------------------------------------


def test_it_gives_the_visible_text_one_block_to_a_line():
    html = (
        "<h2>1. Scope</h2><p>Staff &amp; <strong>volunteers</strong>\n   alike.</p>"
        "<ul><li>Phones</li><li>Cameras</li></ul>"
        "<table><tr><th>Role</th><th>Name</th></tr><tr><td>DSL</td><td>A. Teacher</td></tr></table>"
    )
    assert plain_text_of(html) == "1. Scope\nStaff & volunteers alike.\nPhones\nCameras\nRole\tName\nDSL\tA. Teacher"


def test_it_leaves_script_content_out_of_the_visible_text():
    assert plain_text_of("<p>Hello</p><script>var secret = 1;</script><style>p{}</style>") == "Hello"


def test_it_gives_empty_text_for_empty_html():
    assert plain_text_of("") == ""


def test_it_fingerprints_text_as_utf8():
    assert text_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert text_sha256("Governors’ policy") == hashlib.sha256("Governors’ policy".encode()).hexdigest()


def test_it_fingerprints_bytes_and_the_same_text_alike():
    assert text_sha256(b"caf\xc3\xa9") == text_sha256("café")


def test_a_one_space_change_gives_a_different_fingerprint():
    assert text_sha256("Staff must sign.") != text_sha256("Staff must  sign.")


# ---------------------------------------------------------------------------
# readable_diff
# ---------------------------------------------------------------------------


def test_it_shows_nothing_when_nothing_changed():
    text = "1. Scope\nAll staff.\n\nVisitors too."
    assert readable_diff(text, text) == ""
    assert readable_diff(text, "1. Scope\n\nAll staff.\nVisitors   too.\n") == ""


def test_it_collapses_unchanged_paragraphs():
    old = "One.\nTwo.\nThree.\nStaff must sign in."
    new = "One.\nTwo.\nThree.\nStaff must sign in and out."
    diff = readable_diff(old, new)
    assert "… 3 unchanged paragraphs …" in diff
    assert "One." not in diff and "Three." not in diff


def test_it_says_paragraph_for_a_single_unchanged_paragraph():
    assert "… 1 unchanged paragraph …" in readable_diff("Same.\nOld ending.", "Same.\nNew ending.")


def test_it_marks_changed_words_inside_a_paragraph():
    diff = readable_diff("Phones are kept in lockers.", "Phones are kept in the office.")
    assert "Phones are kept in <del>lockers.</del> <ins>the office.</ins>" in diff


def test_it_marks_a_removed_paragraph():
    diff = readable_diff("Keep.\nRemoved rule.\nEnd.", "Keep.\nEnd.")
    assert '<p class="diff-removed"><del>Removed rule.</del></p>' in diff
    assert "<ins>" not in diff


def test_it_marks_an_added_paragraph():
    diff = readable_diff("Keep.\nEnd.", "Keep.\nAdded rule.\nEnd.")
    assert '<p class="diff-added"><ins>Added rule.</ins></p>' in diff
    assert "<del>" not in diff


def test_it_shows_two_huge_changed_paragraphs_whole():
    before = " ".join(f"old{n}" for n in range(1100))
    after = " ".join(f"new{n}" for n in range(1100))
    diff = readable_diff(before, after)
    assert "diff-changed" not in diff
    assert f"<del>{before}</del>" in diff and f"<ins>{after}</ins>" in diff


def test_it_finds_an_addition_among_thousands_of_repeated_paragraphs():
    diff = readable_diff("Sign here.\n" * 5000, "Sign here.\n" * 5000 + "New rule.")
    assert diff == (
        '<div class="policy-diff">\n'
        '<p class="diff-unchanged">… 5000 unchanged paragraphs …</p>\n'
        '<p class="diff-added"><ins>New rule.</ins></p>\n'
        "</div>"
    )


def test_it_escapes_text_in_the_difference():
    diff = readable_diff("Safe.", '<script>alert("x")</script> & more')
    assert "<script>" not in diff
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in diff


# ---------------------------------------------------------------------------
# parse_policy_file: the real seed policies
# ---------------------------------------------------------------------------

SEED_EXPECTATIONS = {
    "000_f69ca46e7c3d1c45.txt": {
        "title": "SCLS Use of Social Media Policy 2023/2024",
        "date_reviewed": date(2023, 7, 1),
        "next_review_date": date(2024, 7, 1),
    },
    "001_e4fc584aa75fa771.txt": {
        "title": "LEARNING AND SKILLS SERVICE SOCIAL MEDIA POLICY",
        "date_reviewed": date(2023, 7, 17),
        "next_review_date": date(2024, 7, 17),
        "version_label": "3",
        "approval_body": "Quality and Performance Forum",
        "author": "Quality, Performance and Achievement Manager",
        "review_frequency_months": 12,
    },
    # States neither date: "Date:" beside the signatures is when it was signed, not reviewed.
    "002_e2fe25879200a378.txt": {
        "title": "Social Media Policy",
        "date_reviewed": None,
        "next_review_date": None,
        "version_label": "2.0",
    },
    # "Date: May 2022 To be revised: May 2023" repeats as a page footer.
    "003_3b6106d2c5292108.txt": {
        "title": "Social Media Policy",
        "date_reviewed": date(2022, 5, 1),
        "next_review_date": date(2023, 5, 1),
    },
    "004_97c0af869d7af024.txt": {
        "title": "Social Media Policy",
        "date_reviewed": date(2024, 6, 1),
        "next_review_date": date(2025, 6, 1),
    },
}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the shared seed policies are not beside this checkout")
@pytest.mark.parametrize("seed_name", sorted(SEED_EXPECTATIONS))
def test_it_imports_each_real_seed_policy(seed_name):
    policy = parse_policy_file((SEEDS / seed_name).read_bytes(), seed_name)

    assert isinstance(policy, ParsedPolicy)
    assert policy.title
    for field, expected in SEED_EXPECTATIONS[seed_name].items():
        assert getattr(policy, field) == expected, field
    html = render_markdown(policy.body_markdown)
    assert "<h2>" in html or "<h3>" in html
    # Fields, footers and the contents page are taken out of the text staff read.
    for label in ("Date reviewed", "Next review", "To be revised", "Last Review on", "CONTENTS"):
        assert label not in policy.body_markdown
    assert "\t" not in policy.body_markdown
    assert policy.title not in policy.body_markdown.splitlines()[0]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the shared seed policies are not beside this checkout")
def test_every_seed_in_the_folder_is_covered():
    assert sorted(path.name for path in SEEDS.glob("*.txt")) == sorted(SEED_EXPECTATIONS)


# ---------------------------------------------------------------------------
# parse_policy_file: fields
# ---------------------------------------------------------------------------

HEADER = """# Mobile Phone Policy 2024/25

Version: 1.3
Approved by: Governing Body
Author: Deputy Headteacher
Date reviewed: 1st September 2024
Next review date: 01/09/2025
Review frequency: Annually

1. Purpose

Phones stay out of sight.
"""


def parse(text, filename="policy.txt", encoding="utf-8"):
    return parse_policy_file(text.encode(encoding), filename)


def test_it_reads_the_fields_a_policy_states_about_itself():
    policy = parse(HEADER, "policy.md")
    assert policy == ParsedPolicy(
        title="Mobile Phone Policy 2024/25",
        version_label="1.3",
        date_reviewed=date(2024, 9, 1),
        next_review_date=date(2025, 9, 1),
        approval_body="Governing Body",
        author="Deputy Headteacher",
        review_frequency_months=12,
        body_markdown="## 1. Purpose\n\nPhones stay out of sight.\n",
    )


def test_it_leaves_fields_the_file_does_not_state_empty():
    policy = parse("Anti-bullying Policy\n\n1. Aims\n\nEveryone is kind.\n")
    assert policy.title == "Anti-bullying Policy"
    assert (policy.version_label, policy.approval_body, policy.author) == ("", "", "")
    assert (policy.date_reviewed, policy.next_review_date, policy.review_frequency_months) == (None, None, None)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("July 2023", date(2023, 7, 1)),
        ("Sept 2021", date(2021, 9, 1)),
        ("September 2024", date(2024, 9, 1)),
        ("1st September 2023", date(2023, 9, 1)),
        ("22nd of March 2024", date(2024, 3, 22)),
        ("01/09/2023", date(2023, 9, 1)),
        ("17.07.23", date(2023, 7, 17)),
        ("2023-09-01", date(2023, 9, 1)),
    ],
)
def test_it_reads_dates_as_uk_schools_write_them(written, expected):
    policy = parse(f"Policy\nDate reviewed: {written}\nNext review date: {written}\n\n1. Aims\n\nText.\n")
    assert policy.date_reviewed == expected
    assert policy.next_review_date == expected


def test_it_reads_two_dates_on_one_line():
    policy = parse("Policy\n\nLast reviewed on: June 2024 Next review due by: June 2025\n\n1. Aims\n\nText.\n")
    assert (policy.date_reviewed, policy.next_review_date) == (date(2024, 6, 1), date(2025, 6, 1))
    assert "2025" not in policy.body_markdown


def test_it_reads_fields_from_a_tab_separated_table():
    policy = parse("Policy\n\n1. Aims\n\nText.\n\nApproval Body\tFGB\nDate Reviewed\t17.07.23\nVersion Number\tV3\n")
    assert (policy.approval_body, policy.date_reviewed, policy.version_label) == ("FGB", date(2023, 7, 17), "3")
    assert "FGB" not in policy.body_markdown


def test_it_does_not_take_a_signature_date_for_a_review_date():
    policy = parse("Policy\n\nSigned by the Head\n\nDate: 28.11.22\n\n1. Aims\n\nText.\n")
    assert policy.date_reviewed is None
    assert "Date: 28.11.22" in policy.body_markdown


def test_it_leaves_a_date_it_cannot_read_in_the_text():
    policy = parse("Policy\n\nNext review date: after Ofsted\n\n1. Aims\n\nText.\n")
    assert policy.next_review_date is None
    assert "Next review date: after Ofsted" in policy.body_markdown


def test_it_does_not_read_a_sentence_as_an_author():
    policy = parse("Policy\n\n1. Aims\n\nWritten by the head teacher with the governors.\n")
    assert policy.author == ""


@pytest.mark.parametrize(
    ("written", "expected"),
    [("Version 2", "2"), ("Version: 1.3", "1.3"), ("V1.2", "1.2"), ("Version number: V4", "4")],
)
def test_it_reads_the_version(written, expected):
    assert parse(f"Policy\n{written}\n\n1. Aims\n\nText.\n").version_label == expected


@pytest.mark.parametrize(
    ("written", "months"),
    [("Annually", 12), ("Every 2 years", 24), ("Three-yearly", 36), ("Every 6 months", 6), ("Termly", None)],
)
def test_it_reads_the_review_frequency_in_months(written, months):
    assert parse(f"Policy\nReview frequency: {written}\n\n1. Aims\n\nText.\n").review_frequency_months == months


# ---------------------------------------------------------------------------
# parse_policy_file: the body
# ---------------------------------------------------------------------------


def test_it_turns_numbered_sections_into_headings():
    body = parse("Policy\n\n1. Introduction\n\nText.\n\n4.2 Training\n\nMore.\n\n4.2.1 Refreshers\n").body_markdown
    assert "## 1. Introduction\n" in body
    assert "### 4.2 Training\n" in body
    assert "#### 4.2.1 Refreshers\n" in body


def test_it_keeps_a_numbered_sentence_as_a_paragraph_with_its_number():
    policy = parse("Policy\n\n4. Staff must report concerns to the DSL on the same day.\n")
    assert "#" not in policy.body_markdown
    assert "<p>4. Staff must report concerns" in render_markdown(policy.body_markdown)


def test_it_levels_existing_markdown_headings_by_their_numbers():
    body = parse("# Policy\n\n#### 2. Scope\n\n# 5.1. Use at work\n\n# Appendix\n", "policy.md").body_markdown
    assert body.splitlines()[0] == "## 2. Scope"
    assert "### 5.1. Use at work" in body
    assert "## Appendix" in body


def test_it_joins_a_title_split_over_two_top_headings():
    policy = parse("# Oakfield Academy\n\n# Online Safety Policy\n\n## 1. Aims\n\nText.\n", "policy.md")
    assert policy.title == "Oakfield Academy Online Safety Policy"
    assert policy.body_markdown.startswith("## 1. Aims")


@pytest.mark.parametrize("bullet", ["•", "-", "–", "o", "●"])
def test_it_turns_bullets_into_a_markdown_list(bullet):
    body = parse(f"Policy\n\nStaff should:\n{bullet} Wear a badge\n{bullet}\tSign in\n").body_markdown
    assert body == "Staff should:\n\n- Wear a badge\n- Sign in\n"
    assert "<li>Wear a badge</li>" in render_markdown(body)


def test_it_nests_indented_bullets_under_the_one_above():
    body = parse("Policy\n\n- Staff must not:\n  - a) Share passwords\n").body_markdown
    assert body == "- Staff must not:\n    - a) Share passwords\n"


def test_it_joins_an_indented_line_to_the_bullet_it_continues():
    body = parse("Policy\n\n- Be respectful and\n  think before posting.\n").body_markdown
    assert body == "- Be respectful and think before posting.\n"


def test_it_drops_the_table_of_contents():
    text = "Policy\n\nCONTENTS\n\n1. INTRODUCTION\t3\n2. SCOPE\t3\n3. PROCEDURE\t3-4\n\n1. Introduction\n\nText.\n"
    body = parse(text).body_markdown
    assert body == "## 1. Introduction\n\nText.\n"


def test_it_keeps_paragraphs_separated_by_blank_lines():
    body = parse("Policy\n\nFirst paragraph.\n\n\n\nSecond paragraph.\n").body_markdown
    assert body == "First paragraph.\n\nSecond paragraph.\n"
    assert render_markdown(body).count("<p>") == 2


def test_hostile_markup_in_an_imported_file_is_removed_when_rendered():
    policy = parse('Policy\n\n<script>alert(1)</script>\n\n[Click](javascript:alert(1))\n\n<img src=x onerror="x()">\n')
    html = render_markdown(policy.body_markdown)
    assert "<script" not in html and "javascript" not in html and "onerror" not in html


# ---------------------------------------------------------------------------
# parse_policy_file: what it refuses and how it reads bytes
# ---------------------------------------------------------------------------


def test_it_reads_a_utf8_file_with_a_byte_order_mark():
    policy = parse_policy_file("\ufeffGovernors’ Policy\n\nText.\n".encode(), "policy.txt")
    assert policy.title == "Governors’ Policy"


def test_it_reads_a_windows_1252_file():
    policy = parse_policy_file("Governors’ Policy\n\nText – with dashes.\n".encode("cp1252"), "policy.TXT")
    assert policy.title == "Governors’ Policy"
    assert "Text – with dashes." in policy.body_markdown


@pytest.mark.parametrize("data", [b"", b"  \r\n\t\n"])
def test_it_refuses_an_empty_policy_file(data):
    with pytest.raises(DocumentError, match="empty"):
        parse_policy_file(data, "policy.txt")


def test_it_refuses_a_file_that_is_not_text():
    with pytest.raises(DocumentError, match="not a text file"):
        parse_policy_file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "policy.txt")


@pytest.mark.parametrize("filename", ["policy.pdf", "policy.docx", "policy", "policy.txt.exe"])
def test_it_refuses_files_that_are_not_markdown_or_text(filename):
    with pytest.raises(DocumentError, match=r"\.md.*\.txt"):
        parse_policy_file(b"Policy\n\nText.\n", filename)


def test_it_refuses_an_oversize_policy_file():
    with pytest.raises(DocumentError, match="10 MB"):
        parse_policy_file(b"a" * (MAX_UPLOAD_BYTES + 1), "policy.txt")


def test_it_refuses_policy_text_over_the_character_limit():
    with pytest.raises(DocumentError, match="too long"):
        parse_policy_file(b"Policy\n\n" + b"a" * MAX_TEXT_CHARS, "policy.txt")


def test_it_refuses_a_file_that_starts_with_a_section_instead_of_a_title():
    with pytest.raises(DocumentError, match="title"):
        parse_policy_file(b"1. Introduction\n\nText.\n", "policy.txt")


def test_it_refuses_a_file_with_a_title_but_no_text():
    with pytest.raises(DocumentError, match="no policy text"):
        parse_policy_file(b"Policy\n\nDate reviewed: July 2023\n", "policy.txt")


def test_a_text_with_its_own_title_heading_sits_below_the_page_title():
    html = render_markdown("# Social Media Policy\n\n## 1. Scope\n\nEveryone.\n\n### 1.1 Staff\n\nAll staff.")
    assert "<h1" not in html
    assert "<h2>Social Media Policy</h2>" in html and "<h3>1. Scope</h3>" in html and "<h4>1.1 Staff</h4>" in html


def test_a_text_without_a_title_heading_keeps_its_levels():
    assert "<h2>1. Scope</h2>" in render_markdown("## 1. Scope\n\nEveryone.")
