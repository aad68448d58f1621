"""A case's chronology for a referral or an inspection: CSV and PDF."""

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CSV_HEADER = ["Entry", "When", "Action", "Details", "Their reference", "Corrects entry", "Recorded by", "Recorded at"]


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def chronology_rows(incident, entries) -> list[list[str]]:
    numbers = {entry.pk: n for n, entry in enumerate(entries, start=1)}
    return [
        [
            str(numbers[entry.pk]),
            _when(entry.happened_at),
            entry.get_kind_display(),
            entry.text,
            entry.external_reference,
            str(numbers.get(entry.corrects_id, "")) if entry.corrects_id else "",
            entry.recorded_by.full_name if entry.recorded_by else "Portal",
            _when(entry.recorded_at),
        ]
        for entry in entries
    ]


def summary_rows(incident, named, evidence) -> list[tuple[str, str]]:
    return [
        ("Reference", incident.reference),
        ("Organisation", incident.organisation.name),
        ("Category", incident.get_category_display()),
        ("Platform", incident.get_platform_display()),
        ("Where", incident.location or "Not given"),
        ("When it happened", _when(incident.occurred_at)),
        ("Reported", f"{_when(incident.reported_at)} by {incident.reporter_label()}"),
        ("Status", incident.get_status_display() + (f": {incident.get_outcome_display()}" if incident.outcome else "")),
        ("Severity", incident.get_severity_display() or "Not triaged"),
        ("Safeguarding", "Yes" if incident.is_safeguarding else "No"),
        ("Staff named", "; ".join(f"{p.user.full_name} ({p.get_involvement_display()})" for p in named) or "None"),
        ("Pupils", "; ".join(f"{p['initials']}, {p['group']}" for p in incident.pupils) or "None"),
        ("What happened", incident.description),
        (
            "Evidence",
            "; ".join(f"{e.original_name}, shows {_when(e.shown_at)}, SHA-256 {e.sha256}" for e in evidence) or "None",
        ),
    ]


def write_chronology_csv(writer, incident, named, evidence, entries) -> None:
    """The case summary, a blank row, then the chronology, into ``writer`` (a ``SafeWriter``)."""
    for label, value in summary_rows(incident, named, evidence):
        writer.writerow([label, value])
    writer.writerow([])
    writer.writerow(CSV_HEADER)
    writer.writerows(chronology_rows(incident, entries))


def chronology_pdf(incident, named, evidence, entries, *, produced_by) -> bytes:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Chronology {incident.reference}",
        author="Policy Portal",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )

    def para(text, style=small):
        return Paragraph(escape(text or "").replace("\n", "<br/>"), style)

    story = [
        Paragraph(f"Incident {escape(incident.reference)}: chronology", styles["Title"]),
        Paragraph(
            f"CONFIDENTIAL. Produced {timezone.localtime():%d %B %Y at %H:%M} by {escape(produced_by.full_name)}.",
            styles["Normal"],
        ),
        Spacer(1, 5 * mm),
        _table(
            [[para(label), para(value)] for label, value in summary_rows(incident, named, evidence)],
            [40 * mm, 140 * mm],
            header=False,
        ),
        Spacer(1, 6 * mm),
        Paragraph("Chronology", styles["Heading2"]),
    ]
    rows = [[para(h) for h in ["#", "When", "Action", "Details", "Recorded by"]]]
    for n, when, kind, text, ref, corrects, by, at in chronology_rows(incident, entries):
        details = (
            text + (f"\nTheir reference: {ref}" if ref else "") + (f"\nCorrects entry {corrects}" if corrects else "")
        )
        rows.append([para(n), para(when), para(kind), para(details), para(f"{by}\n{at}")])
    story.append(_table(rows, [8 * mm, 26 * mm, 34 * mm, 82 * mm, 30 * mm]))
    document.build(story)
    return buffer.getvalue()


def _table(rows, widths, header=True):
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0b7c3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")))
    table.setStyle(TableStyle(style))
    return table


def trust_figures_rows(figures: dict, deadlines: dict) -> list[list[str]]:
    """A trust's dashboard as CSV rows, table by table with the page's headings, from the same protected
    figures (``incidents.dashboard.trust_figures``): the export shows exactly what the page shows."""
    grid, trends = figures["grid"], figures["trends"]
    total = figures["rollup_total"]
    median = deadlines["median_hours"]
    sections = [
        (
            "Deadlines",
            ["Figure", "Incidents"],
            [
                ["Awaiting triage past their deadline", deadlines["untriaged_overdue"]],
                ["Triaged late (12 months)", deadlines["triaged_late"]],
                ["Triaged (12 months)", deadlines["triaged"]],
                ["LADO referrals overdue", deadlines["lado_overdue"]],
                ["LADO referrals made late (12 months)", deadlines["lado_late"]],
                ["Median time to triage, hours (12 months)", "—" if median is None else str(median)],
            ],
        ),
        (
            "Incidents by member organisation",
            ["Organisation", "Open", "Awaiting triage", "Reported in 12 months"],
            [[r["name"], r["open"], r["untriaged"], r["last_year"]] for r in figures["rollup"]]
            + [["Whole trust", total["open"], total["untriaged"], total["last_year"]]],
        ),
        (
            "Open incidents by status and severity",
            ["Status", *grid["columns"], "Total"],
            [[r["status"], *r["cells"], r["total"]] for r in grid["rows"]]
            + [["All open", *grid["totals"], grid["total"]]],
        ),
        ("Incidents by kind", ["Kind", "Incidents"], [list(pair) for pair in trends["by_category"]]),
        ("Incidents by platform", ["Platform", "Incidents"], [list(pair) for pair in trends["by_platform"]]),
        ("Incidents by month", ["Month", "Incidents"], [[f"{m:%B %Y}", n] for m, n in trends["by_month"]]),
    ]
    rows = [[figures["footnote"]]]
    for title, header, body in sections:
        rows += [[], [title], header, *body]
    return rows
