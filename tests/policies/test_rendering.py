import hashlib
import io
import zipfile

import pytest

from policies.document_limits import MAX_TEXT_CHARS, MAX_UPLOAD_BYTES, DocumentError
from policies.rendering import check_pdf, convert_docx, render_markdown, text_sha256

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


def test_a_text_with_its_own_title_heading_sits_below_the_page_title():
    html = render_markdown("# Social Media Policy\n\n## 1. Scope\n\nEveryone.\n\n### 1.1 Staff\n\nAll staff.")
    assert "<h1" not in html
    assert "<h2>Social Media Policy</h2>" in html and "<h3>1. Scope</h3>" in html and "<h4>1.1 Staff</h4>" in html


def test_a_text_without_a_title_heading_keeps_its_levels():
    assert "<h2>1. Scope</h2>" in render_markdown("## 1. Scope\n\nEveryone.")


# Each of these took Python-Markdown minutes; markdown-it reads them in time linear in their length.
@pytest.mark.parametrize(
    "hostile",
    ["[" * 100_000, "![" * 50_000, "<a>" * 60_000, "`a`" * 60_000, "**[" * 60_000, "_a " * 66_000],
)
def test_it_renders_a_paragraph_full_of_markup_and_sanitises_it(hostile):
    html = render_markdown(hostile + "<script>alert(1)</script>")
    assert html.startswith("<p>")
    assert "<script" not in html and "alert" not in html


def test_it_refuses_lists_nested_thousands_deep():
    with pytest.raises(DocumentError, match="nested too deeply"):
        render_markdown("1. " * 3000)


def test_it_refuses_quotes_nested_thousands_deep():
    with pytest.raises(DocumentError, match="nested too deeply"):
        render_markdown(">" * 3000 + " Quoted.")


def test_it_renders_lists_nested_nine_deep():
    html = render_markdown("".join(f"{'  ' * depth}- Level {depth}\n" for depth in range(9)))
    assert html.count("<ul>") == 9 and "Level 8" in html


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
# ---------------------------------------------------------------------------
# text_sha256
# ---------------------------------------------------------------------------


def test_it_fingerprints_text_as_utf8():
    assert text_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert text_sha256("Governors’ policy") == hashlib.sha256("Governors’ policy".encode()).hexdigest()


def test_it_fingerprints_bytes_and_the_same_text_alike():
    assert text_sha256(b"caf\xc3\xa9") == text_sha256("café")


def test_a_one_space_change_gives_a_different_fingerprint():
    assert text_sha256("Staff must sign.") != text_sha256("Staff must  sign.")
