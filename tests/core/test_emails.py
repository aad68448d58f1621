from core.emails import make_message


def test_text_parts_are_not_html_escaped_but_the_html_part_is():
    message = make_message(
        "approvals/notice",
        to=["a@school.example"],
        context={"subject": "Request from Siobhán O'Brien & <Co>", "lines": ["O'Brien asks"], "path": "/x/"},
    )
    assert message.subject == "Request from Siobhán O'Brien & <Co>"
    assert "O'Brien asks" in message.body
    html = message.alternatives[0][0]
    assert "O&#x27;Brien asks" in html


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    import csv
    import io

    from core.csvfiles import SafeWriter

    out = io.StringIO()
    SafeWriter(out).writerow(['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "plain", 3, "a=b"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "plain",
        "3",
        "a=b",
    ]
