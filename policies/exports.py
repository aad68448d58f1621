"""What the policies part gives out as files: the compliance CSV, and the evidence pack for
inspection (CSV and PDF): who acknowledged which version of a policy, and when, and who in
post has not yet acknowledged the version that counts (outstanding or overdue)."""

import io

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from accounts.models import today
from policies import compliance
from policies.models import VersionStatus


def evidence_pack_pdf(policy, organisation_ids: list[int] | None = None) -> bytes:
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        title=f"Evidence pack: {policy.title}",
        author="Policy Portal",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    story = [
        Paragraph(f"Evidence pack: {policy.title}", styles["Title"]),
        Paragraph(
            f"{policy.organisation.name}. Owner: {policy.owner.full_name}. Author: {policy.author or 'not recorded'}. Approval body: {policy.approval_body or 'not recorded'}. "
            f"Produced {timezone.localtime():%d %B %Y at %H:%M}.",
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
        Paragraph("Versions", styles["Heading2"]),
    ]
    versions = [["Version", "Status", "Approved", "Published", "Acknowledge by", "SHA-256 of the text"]]
    for version in policy.versions.exclude(status=VersionStatus.DRAFT).order_by("published_at"):
        versions.append(
            [
                version.label,
                version.get_status_display(),
                f"{version.approval_date:%d %b %Y}" if version.approval_date else "",
                f"{timezone.localtime(version.published_at):%d %b %Y}" if version.published_at else "",
                f"{version.due_date:%d %b %Y}" if version.due_date else "",
                version.content_sha256[:16] + "…",
            ]
        )
    story += [_table(versions), Spacer(1, 6 * mm), Paragraph("Acknowledgements", styles["Heading2"])]
    rows = [["Name", "Email", "Organisation", "Version", "Acknowledged at", "How"]]
    for row in compliance.evidence(policy, organisation_ids).iterator(chunk_size=2000):
        ack = row.acknowledgement
        rows.append(
            [
                row.user.full_name,
                row.user.email or "",
                row.membership.organisation.name,
                ack.version.label,
                _acknowledged_at(ack, "%d %b %Y %H:%M"),
                _how(ack),
            ]
        )
    if len(rows) == 1:
        story.append(Paragraph("Nobody has acknowledged this policy yet.", styles["Normal"]))
    else:
        story.append(_table(rows))
    story += [Spacer(1, 6 * mm), Paragraph("Not yet acknowledged", styles["Heading2"])]
    on = today()
    waiting = [["Name", "Email", "Organisation", "Version asked", "Due", "Status"]]
    for row in compliance.not_yet_acknowledged(policy, organisation_ids).iterator(chunk_size=2000):
        waiting.append(
            [
                row.user.full_name,
                row.user.email or "",
                row.membership.organisation.name,
                row.version.label,
                f"{row.due_date:%d %b %Y}",
                _waiting_status(row, on),
            ]
        )
    if len(waiting) == 1:
        story.append(Paragraph("Everyone asked has acknowledged the current version.", styles["Normal"]))
    else:
        story.append(_table(waiting))
    document.build(story)
    return buffer.getvalue()


def _waiting_status(row, on) -> str:
    return "Overdue" if row.is_overdue(on) else "Outstanding"


def _how(ack) -> str:
    """How the acknowledgement was made: "Signed in", or "Assisted: on paper, recorded by …"."""
    if ack is None:
        return ""
    text = ack.how()
    return f"Assisted: {text[0].lower()}{text[1:]}" if ack.is_assisted else text


def _acknowledged_at(ack, fmt: str) -> str:
    """An assisted acknowledgement counts from the day the person signed: its date, not a clock time."""
    if ack.is_assisted:
        return timezone.localtime(ack.acknowledged_at).strftime(fmt.split(" %H")[0])
    return timezone.localtime(ack.acknowledged_at).strftime(fmt)


def _table(rows):
    table = Table(rows, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0b7c3")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


# Spreadsheets
# ------------------------------------------------------------------------------

CSV_HEADER = [
    "Name",
    "Email",
    "Organisation",
    "Department",
    "Staff type",
    "Policy",
    "Version asked",
    "Due",
    "Status",
    "Acknowledged version",
    "Acknowledged at",
    "How",
]


def _csv_row(row, on):
    ack = row.acknowledgement
    status = "Acknowledged" if ack else ("Overdue" if row.is_overdue(on) else "Outstanding")
    return [
        row.user.full_name,
        row.user.email or "",
        row.membership.organisation.name,
        row.membership.department,
        row.membership.get_staff_type_display(),
        row.version.policy.title,
        row.version.label,
        row.due_date.isoformat(),
        status,
        ack.version.label if ack else "",
        _acknowledged_at(ack, "%Y-%m-%d %H:%M") if ack else "",
        _how(ack),
    ]


def write_acknowledgements(writer, rows, on=None) -> None:
    """The compliance drill-down's rows (requests), one line each, as the CSV export."""
    on = on or today()
    writer.writerow(CSV_HEADER)
    for row in rows.iterator(chunk_size=2000):
        writer.writerow(_csv_row(row, on))


def write_evidence(writer, rows, waiting=None, on=None) -> None:
    """Who acknowledged which version, when, of exactly what text: the evidence CSV; then, one line
    each with its status, who is still outstanding or overdue (``waiting``)."""
    writer.writerow(
        [
            "Name",
            "Email",
            "Organisation",
            "Version",
            "Acknowledged at",
            "SHA-256 of the text shown",
            "IP address",
            "Status",
            "Due",
            "How",
            "SHA-256 of the signed sheet",
        ]
    )
    for row in rows.iterator(chunk_size=2000):
        ack = row.acknowledgement
        writer.writerow(
            [
                row.user.full_name,
                row.user.email or "",
                row.membership.organisation.name,
                ack.version.label,
                _acknowledged_at(ack, "%Y-%m-%d %H:%M:%S"),
                ack.content_sha256,
                ack.ip_address or "",
                "Acknowledged",
                row.due_date.isoformat(),
                _how(ack),
                ack.signed_sheet_sha256,
            ]
        )
    if waiting is None:
        return
    on = on or today()
    for row in waiting.iterator(chunk_size=2000):
        writer.writerow(
            [
                row.user.full_name,
                row.user.email or "",
                row.membership.organisation.name,
                row.version.label,
                "",
                "",
                "",
                _waiting_status(row, on),
                row.due_date.isoformat(),
                "",
                "",
            ]
        )
