"""Trust figures that protect people (incidents.suppression): every small count hidden, no total giving a hidden
count away, and the trust's export showing exactly what its dashboard shows."""

import csv
import datetime as dt
import io
import itertools
import re
from html.parser import HTMLParser

import pytest

from accounts.models import Role
from incidents.models import Category
from incidents.suppression import LESS_THAN, WITHHELD, Line, protect
from tests.factories import member
from tests.incidents.conftest import report

pytestmark = pytest.mark.django_db


# The rule on its own
# ------------------------------------------------------------------------------


def reader_can_work_out(values: dict, lines: list[Line], shown: dict) -> dict:
    """Every value a reader who knows the rule could give each hidden figure: all assignments of the hidden
    cells ("<5": 0-4; "withheld": 5 up to the table's largest figure, a reader stronger than a real one) under which every line adds up and every total
    shows what it shows. Brute force over the cells, so for small tables only: it solves all the lines
    together, not one at a time, as the rule's own reading does."""
    totals = {line.total for line in lines}
    ceiling = max(values.values())
    cells = [k for k in values if k not in totals and shown[k] in (LESS_THAN, WITHHELD)]
    domains = [range(0, 5) if shown[k] == LESS_THAN else range(5, ceiling + 1) for k in cells]
    possible = {key: set() for key, text in shown.items() if text in (LESS_THAN, WITHHELD)}
    for guess in itertools.product(*domains):
        trial = {**values, **dict(zip(cells, guess, strict=True))}
        for line in lines:  # the totals, innermost first (a grand total is a total of totals)
            if all(c not in totals for c in line.cells):
                trial[line.total] = sum(trial[c] for c in line.cells)
        for line in lines:
            trial[line.total] = sum(trial[c] for c in line.cells)
        if not all(sum(trial[c] for c in line.cells) == trial[line.total] for line in lines):
            continue
        if not all(_fits(shown[t], trial[t]) for t in totals):
            continue
        for key in possible:
            possible[key].add(trial[key])
    return possible


def _fits(text: str, n: int) -> bool:
    if text == LESS_THAN:
        return n < 5
    if text == WITHHELD:
        return n >= 5
    return text == str(n)


def table(rows: list[list[int]]) -> tuple[dict, list[Line]]:
    """A table with its row totals, column totals and grand total, as figures and lines."""
    values, lines = {}, []
    for r, row in enumerate(rows):
        for c, n in enumerate(row):
            values["cell", r, c] = n
        values["row", r] = sum(row)
        lines.append(Line(tuple(("cell", r, c) for c in range(len(row))), ("row", r)))
    for c in range(len(rows[0])):
        values["column", c] = sum(row[c] for row in rows)
        lines.append(Line(tuple(("cell", r, c) for r in range(len(rows))), ("column", c)))
    values["all"] = sum(map(sum, rows))
    lines.append(Line(tuple(("row", r) for r in range(len(rows))), "all"))
    lines.append(Line(tuple(("column", c) for c in range(len(rows[0]))), "all"))
    return values, lines


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
def test_every_count_under_5_shows_as_less_than_5(count):
    shown = protect({"a": count, "b": 5, "c": 17}, [])
    assert shown == {"a": LESS_THAN, "b": "5", "c": "17"}


@pytest.mark.parametrize(
    "rows",
    [
        [[1, 6], [6, 6]],  # one small cell: its row and its column would give it away
        [[3, 7], [6, 8]],
        [[4, 4], [6, 7]],  # two small cells, both 4: their row's total of 8 would give both away
        [[1, 0, 6], [2, 9, 5]],
        [[5, 5], [5, 1]],
        [[2, 9], [0, 3]],
    ],
)
def test_no_hidden_count_can_be_worked_out_from_the_totals(rows):
    values, lines = table(rows)
    shown = protect(values, lines)
    small = [key for key, n in values.items() if 0 < n < 5]
    assert small and all(shown[key] == LESS_THAN for key in small)
    for key, could_be in reader_can_work_out(values, lines, shown).items():
        assert values[key] in could_be
        if shown[key] == LESS_THAN:
            assert len(could_be) > 1, f"{key} ({values[key]}) can be worked out: {shown}"


def test_the_next_smallest_figure_is_withheld_and_no_more():
    values = {"a": 3, "b": 7, "c": 9, "total": 19}
    shown = protect(values, [Line(("a", "b", "c"), "total")])
    # The 3 is hidden; the 7 (the smallest still shown) goes with it; the rest stay.
    assert shown == {"a": LESS_THAN, "b": WITHHELD, "c": "9", "total": "19"}


def test_two_small_counts_whose_total_pins_them_down_take_the_total_with_them():
    values = {"a": 4, "b": 4, "total": 8}
    assert protect(values, [Line(("a", "b"), "total")]) == {"a": LESS_THAN, "b": LESS_THAN, "total": WITHHELD}


def test_figures_with_nothing_small_are_shown_as_they_are():
    values, lines = table([[5, 7], [9, 12]])
    assert protect(values, lines) == {key: str(n) for key, n in values.items()}


# The trust's dashboard and export
# ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_mfa(trust, school, other_school):
    for org in (trust, school, other_school):
        org.require_mfa = False
        org.save()


@pytest.fixture
def trust_incidents(now, school, other_school, staff):
    """Oak Primary: 6 reports of abuse of staff on Facebook; Ash Academy: 1 of nude imagery on Snapchat."""
    for _ in range(6):
        report(school, staff, Category.ABUSE_OF_STAFF, platform="facebook")
    teacher = member(other_school, email="teacher@ash.example")
    report(other_school, teacher, Category.NUDE_IMAGERY, platform="snapchat", location="")


class _Tables(HTMLParser):
    """Each table of a page, by its caption: its rows, each a list of its cells' text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self._caption, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "caption":
            self._caption = ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "caption":
            self.tables[self._caption.strip()] = []
            self._current = self._caption.strip()
            self._caption = None
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._current].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._caption is not None:
            self._caption += data
        elif self._cell is not None:
            self._cell += data


def page_tables(html: str) -> dict:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def csv_sections(text: str) -> dict:
    sections, current = {}, None
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        if not row:
            current = None
        elif current is None and len(row) == 1:
            current = row[0]
            sections[current] = []
        elif current is not None:
            sections[current].append(row)
    return sections


FIGURE_TABLES = [
    "Incidents by member organisation",
    "Open incidents by status and severity",
    "Incidents by kind",
    "Incidents by platform",
    "Incidents by month",
]


def test_the_trust_dashboard_shows_no_count_from_1_to_4(client, trust_incidents, trust_dsl):
    client.force_login(trust_dsl)
    tables = page_tables(client.get("/organisations/oak-trust/incidents/dashboard/").content.decode())
    assert set(FIGURE_TABLES) <= set(tables)
    for caption in FIGURE_TABLES:
        for row in tables[caption][1:]:
            assert not [cell for cell in row[1:] if re.fullmatch(r"[1-4]", cell)], (caption, row)
    kinds = dict(row for row in tables["Incidents by kind"][1:])
    assert (
        kinds["Nude or semi-nude images (sexting)"] == LESS_THAN and kinds["Online abuse of a member of staff"] == "6"
    )
    members = {row[0]: row[1:] for row in tables["Incidents by member organisation"][1:]}
    assert members["Ash Academy"] == [LESS_THAN, LESS_THAN, LESS_THAN] and members["Whole trust"] == ["7", "7", "7"]
    # The single Snapchat report among 6 on Facebook hides among the platforms with none.
    platforms = dict(row for row in tables["Incidents by platform"][1:])
    assert platforms["Snapchat"] == LESS_THAN and list(platforms.values()).count(LESS_THAN) >= 2


def test_no_cell_or_figure_on_the_trust_page_or_its_export_shows_a_count_from_1_to_4(
    client, now, trust_incidents, school, dsl, trust_dsl
):
    """Every cell and figure, not only the figure tables': the deadlines and the takedowns too."""
    from incidents import casework
    from incidents.models import Incident
    from tests.incidents.conftest import START, triaged

    now.move_to(START + dt.timedelta(hours=30), tick=False)  # every report is past its triage deadline
    for incident in Incident.objects.filter(organisation=school)[:2]:  # two triaged late, two takedowns
        casework.record_takedown(
            incident=triaged(incident, dsl),
            actor=dsl,
            platform="facebook",
            target=f"post {incident.pk}",
            reported_at=START + dt.timedelta(hours=29),
            how_reported="report_tool",
        )
    client.force_login(trust_dsl)
    page = client.get("/organisations/oak-trust/incidents/dashboard/").content.decode()
    export = client.get("/organisations/oak-trust/incidents/dashboard/figures.csv").content.decode()
    tables, sections = page_tables(page), csv_sections(export)
    assert set(FIGURE_TABLES) <= set(tables) and "Deadlines" in sections
    small = re.compile(r"(?<![\d.])[1-4](?![\d.])")
    for caption, rows in [*tables.items(), *sections.items()]:
        for row in rows[1:]:
            assert not [cell for cell in row[1:] if small.search(cell)], (caption, row)
    figures = re.findall(r'<span class="stat-value">(.*?)</span>', page, re.S)
    assert len(figures) == 8 and figures.count("&lt;5 of &lt;5") == 1 and "&lt;5" in figures
    assert not [figure for figure in figures if small.search(figure)], figures


def test_the_export_shows_exactly_what_the_page_shows(client, trust_incidents, trust_dsl):
    client.force_login(trust_dsl)
    tables = page_tables(client.get("/organisations/oak-trust/incidents/dashboard/").content.decode())
    response = client.get("/organisations/oak-trust/incidents/dashboard/figures.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="oak-trust-incident-figures-')
    sections = csv_sections(response.content.decode())
    for caption in FIGURE_TABLES:
        assert sections[caption] == tables[caption], caption
    deadlines = dict(sections["Deadlines"][1:])
    assert deadlines["Awaiting triage past their deadline"] == "0" and deadlines["Triaged (12 months)"] == "0"


def test_a_school_has_no_trust_export_and_its_staff_cannot_reach_the_trusts(client, trust_incidents, school, dsl):
    client.force_login(dsl)
    assert client.get(f"/organisations/{school.slug}/incidents/dashboard/figures.csv").status_code == 404
    assert client.get("/organisations/oak-trust/incidents/dashboard/figures.csv").status_code == 404
    page = client.get(f"/organisations/{school.slug}/incidents/dashboard/").content.decode()
    assert "figures.csv" not in page


def test_a_trust_slt_member_exports_what_their_roles_let_them_see(client, trust_incidents, trust):
    slt = member(trust, Role.SLT, email="trust.slt2@school.example")
    client.force_login(slt)
    sections = csv_sections(client.get("/organisations/oak-trust/incidents/dashboard/figures.csv").content.decode())
    # Nude imagery is a safeguarding matter: SLT do not see it, in the figures either.
    kinds = dict(sections["Incidents by kind"][1:])
    assert (
        kinds["Online abuse of a member of staff"] == "6" and kinds["Nude or semi-nude images (sexting)"] == LESS_THAN
    )
    assert dict((r[0], r[1]) for r in sections["Incidents by member organisation"][1:])["Whole trust"] == "6"


def test_a_trusts_takedown_figures_are_protected_as_its_deadlines_are():
    """Seed 004 §4.1 figures at trust level (incidents.dashboard.trust_takedowns): 1 to 4 as "<5", zero
    shown, and no median time to removal over fewer than 5 removals."""
    from incidents.dashboard import trust_takedowns

    few = trust_takedowns({"awaiting": 3, "past_48_hours": 0, "removed": 4, "median_hours": 30.5})
    assert few == {"awaiting": "<5", "past_48_hours": "0", "removed": "<5", "median_hours": None}
    many = trust_takedowns({"awaiting": 7, "past_48_hours": 1, "removed": 5, "median_hours": 30.5})
    assert many == {"awaiting": "7", "past_48_hours": "<5", "removed": "5", "median_hours": 30.5}
