from policies.textdiff import plain_text_of, readable_diff

# ---------------------------------------------------------------------------
# plain_text_of
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
