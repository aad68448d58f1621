from datetime import date
from pathlib import Path

import pytest

from policies.document_limits import MAX_TEXT_CHARS, MAX_UPLOAD_BYTES, DocumentError
from policies.importer import ParsedPolicy, parse_policy_file
from policies.rendering import render_markdown

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


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
