"""The class report: how the class did on each assignment and on each aspect.

For every assignment, a figure (saved as PNG, and embedded in one self-contained HTML page):
the distribution of the students' totals, and for each aspect the share of students who got
it fully, partly or not at all; then a table of the aspects most students lost, with what
each aspect checks, so an instructor sees which property tripped the class.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AspectStats:
    id: str
    max_score: float
    scores: list[float] = field(default_factory=list)      # one per graded submission

    @property
    def lost(self) -> int:
        return sum(s < self.max_score for s in self.scores)

    @property
    def zero(self) -> int:
        return sum(s == 0 for s in self.scores) if self.max_score > 0 else 0


@dataclass
class AssignmentStats:
    id: str
    max_score: float
    totals: list[float]
    aspects: list[AspectStats]
    ungraded: int                                          # submissions without automatic scores


def collect(url: str, assignment_ids: list[str]) -> list[AssignmentStats]:
    """Per assignment: every graded submission's total and every aspect's scores."""
    from nbgrader.api import MissingEntry

    from medgrade.classroom.grade import open_gradebook
    gb = open_gradebook(url)
    out = []
    try:
        for a in assignment_ids:
            try:
                assignment = gb.find_assignment(a)
            except MissingEntry:
                continue
            cells = [(nb.name, c.name, c.max_score) for nb in assignment.notebooks for c in nb.grade_cells]
            aspects = {(nb, name): AspectStats(name, max_score) for nb, name, max_score in cells}
            totals, ungraded = [], 0
            for sub in assignment.submissions:
                grades = [g for nb in sub.notebooks for g in nb.grades]
                if not grades or any(g.score is None for g in grades):
                    ungraded += 1
                    continue
                for g in grades:
                    aspects[g.notebook.name, g.name].scores.append(float(g.score))
                totals.append(float(sub.score))
            out.append(AssignmentStats(a, float(assignment.max_score), totals, list(aspects.values()), ungraded))
    finally:
        gb.close()
    return out


def figure(stats: AssignmentStats) -> bytes:
    """PNG: the totals' histogram beside each aspect's full / partial / zero shares."""
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n_aspects = max(1, len(stats.aspects))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 1.2 + 0.32 * n_aspects),
                                      gridspec_kw={"width_ratios": [1, 1.6]})
    bins = np.linspace(0, max(stats.max_score, 1), min(21, int(stats.max_score) + 2))
    left.hist(stats.totals, bins=bins, color="#4477aa", edgecolor="white")
    left.set_xlabel(f"total (out of {stats.max_score:g})")
    left.set_ylabel("students")
    left.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    left.set_title(f"{stats.id}: {len(stats.totals)} graded")
    names = [a.id for a in stats.aspects][::-1]
    full = np.array([sum(s == a.max_score for s in a.scores) for a in stats.aspects][::-1], float)
    zero = np.array([a.zero for a in stats.aspects][::-1], float)
    count = np.array([max(1, len(a.scores)) for a in stats.aspects][::-1], float)
    part = count - full - zero
    y = np.arange(len(names))
    right.barh(y, full / count, color="#228833", label="full")
    right.barh(y, part / count, left=full / count, color="#ccbb44", label="partial")
    right.barh(y, zero / count, left=(full + part) / count, color="#ee6677", label="zero")
    right.set_yticks(y, names, fontsize=8)
    right.set_xlim(0, 1)
    right.set_xlabel("share of students")
    right.legend(loc="lower right", fontsize=8, ncols=3, bbox_to_anchor=(1, 1.0))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def most_lost(stats: AssignmentStats, top: int = 5) -> list[AspectStats]:
    """Aspects that the most students did not get fully; at most ``top``, none that nobody lost."""
    ranked = sorted(stats.aspects, key=lambda a: (-a.lost, -a.max_score, a.id))
    return [a for a in ranked if a.lost > 0][:top]


def _summary(aspect_id: str) -> str:
    from medgrade.registry import ASPECTS, assignments
    assignments()
    found = ASPECTS.get(aspect_id)
    return found.summary if found else ""


def write_report(url: str, assignment_ids: list[str], out: Path) -> Path:
    """Write ``out/class_report.html`` and one PNG per assignment; return the HTML's path."""
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    for stats in collect(url, assignment_ids):
        png = figure(stats)
        (out / f"{stats.id}.png").write_bytes(png)
        mean = sum(stats.totals) / len(stats.totals) if stats.totals else 0.0
        rows = "".join(
            f"<tr><td><code>{html.escape(a.id)}</code></td><td>{a.max_score:g}</td>"
            f"<td>{a.lost} of {len(a.scores)} ({100 * a.lost / max(1, len(a.scores)):.0f}%)</td>"
            f"<td>{html.escape(_summary(a.id))}</td></tr>" for a in most_lost(stats))
        lost = (f"<table><tr><th>aspect</th><th>points</th><th>students who lost it</th><th>what it checks</th></tr>"
                f"{rows}</table>") if rows else "<p>No aspect was lost by any student.</p>"
        ungraded = f"; {stats.ungraded} submitted but not graded" if stats.ungraded else ""
        sections.append(
            f"<h2>{html.escape(stats.id)}</h2>"
            f"<p>{len(stats.totals)} graded{ungraded}; mean {mean:.1f} of {stats.max_score:g}.</p>"
            f'<img alt="score distribution of {html.escape(stats.id)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
            f"<h3>Aspects most students lost</h3>{lost}")
    # nothing in the page runs or loads: its figures are inline, its names escaped
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report</title>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
            "img{max-width:100%}</style></head><body><h1>Class report</h1>"
            + ("".join(sections) or "<p>No graded submissions.</p>") + "</body></html>")
    path = out / "class_report.html"
    path.write_text(page)
    return path
