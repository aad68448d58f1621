"""Trust figures that protect people: small counts are hidden, and no total gives a hidden count away.

The one rule for every trust-level table and export (``incidents.dashboard.trust_figures`` builds them;
the dashboard and its CSV both show what it returns):

1. **Small counts.** Every count from 0 to 4 shows as "<5". Zero is hidden too, so that "<5" never
   tells "none" from "a few" (a reader cannot pin a count to 1 by knowing the others are 0).
2. **Totals.** The figures are arranged in *lines*: cells that add up to a total (a table's row or
   column and its total; the incidents of 12 months by kind, by platform and by month, each adding up
   to the same total; the members' counts adding up to the trust's). A reader knows each figure to
   lie in a range (shown: exactly; "<5": 0 to 4; "withheld": 5 or more) and narrows the ranges line
   by line, carrying what one line gives into the next, as far as they narrow. Where that pins down
   a hidden figure (other than a zero, which gives nobody away), the smallest figure still shown in
   the lines that pin it down is withheld too ("withheld": a figure of 5 or more), and the reading starts again,
   until nothing hidden can be pinned down. This is secondary suppression; totals are figures like
   any other and are withheld the same way.

What it does not do: solve all the lines at once as one system of equations (linear programming),
or use inequalities between figures (those awaiting triage are among those open). The reading it
defends against is the one a person does with the tables and a calculator.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

SMALL_NUMBER = 5
LESS_THAN = "<5"
WITHHELD = "withheld"
_UNBOUNDED = 10**12
_MAX_PASSES = 50

FOOTNOTE = (
    "Counts from 0 to 4 show as “<5”, so no one can be identified from a small number. Where a total would "
    "let a hidden count be worked out, another figure is withheld too (“withheld” stands for 5 or more)."
)


@dataclass(frozen=True)
class Line:
    """Figures that add up: ``cells`` sum to ``total`` (keys of the figures)."""

    cells: tuple
    total: Hashable


def _known(values: dict, lines: list[Line], shown: dict) -> dict:
    """What a reader can know of each figure, as (lowest, highest): from what it shows ("<5": 0 to 4,
    "withheld": 5 or more, a count: itself), narrowed by every line in turn until nothing narrows further.
    A figure narrowed by one line narrows the others it is in (the reader works through the tables)."""
    known = {}
    for key, text in shown.items():
        if text == LESS_THAN:
            known[key] = (0, SMALL_NUMBER - 1)
        elif text == WITHHELD:
            known[key] = (SMALL_NUMBER, _UNBOUNDED)
        else:
            known[key] = (values[key], values[key])
    for _ in range(_MAX_PASSES):
        narrowed = False
        for line in lines:
            low_cells = sum(known[k][0] for k in line.cells)
            high_cells = sum(known[k][1] for k in line.cells)
            total_low, total_high = known[line.total]
            # The total lies between the cells' least and greatest sums ...
            new = (max(total_low, low_cells), min(total_high, high_cells))
            narrowed |= new != known[line.total]
            known[line.total] = new
            # ... and each cell is the total less the others.
            for key in line.cells:
                low, high = known[key]
                others_low, others_high = low_cells - low, high_cells - high
                new = (max(low, known[line.total][0] - others_high), min(high, known[line.total][1] - others_low))
                if new != known[key]:
                    narrowed = True
                    low_cells += new[0] - low
                    high_cells += new[1] - high
                    known[key] = new
        if not narrowed:
            break
    return known


def protect(values: dict, lines: Iterable[Line]) -> dict:
    """What each figure shows: its count, "<5" or "withheld". ``values`` holds every figure's count,
    ``lines`` every set of figures that add up."""
    shown = {key: LESS_THAN if n < SMALL_NUMBER else str(n) for key, n in values.items()}
    lines = list(lines)
    while True:
        known = _known(values, lines, shown)
        # Hidden figures the reader can pin down, other than zeros (which give nobody away).
        given_away = [
            key
            for key, text in shown.items()
            if text in (LESS_THAN, WITHHELD) and known[key][0] == known[key][1] and values[key] > 0
        ]
        if not given_away:
            return shown
        # Open up the lines that pin them down: withhold the smallest figure still shown in any of them.
        visible = {
            k
            for line in lines
            if any(key == line.total or key in line.cells for key in given_away)
            for k in (*line.cells, line.total)
            if shown[k] not in (LESS_THAN, WITHHELD)
        }
        if not visible:  # nothing left to withhold around them; cannot happen with true counts
            return shown
        shown[min(visible, key=lambda k: (values[k], str(k)))] = WITHHELD


def small(count: int) -> str:
    """A count on its own, in no line (the dashboard's deadline figures): "<5" from 1 to 4. Zero shows,
    since no other figure adds up with it: "none overdue" gives nobody away."""
    return LESS_THAN if 0 < count < SMALL_NUMBER else str(count)
