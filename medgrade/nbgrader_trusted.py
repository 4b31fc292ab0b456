"""The autograde step that records scores computed outside the student's kernel.

Under ``nbgrader autograde`` the grade cells run inside the submission's own
kernel, which the submission controls (it can patch a check, fake a result,
install a display hook that turns every output into full marks). This
preprocessor runs in nbgrader's own process after ``Execute``: it scores
every aspect of the assignment with :func:`medgrade.isolation.grade_cells`
(the submission's setup and answer cells in isolated workers) and replaces
each grade cell's outputs with the report and the score, which nbgrader's
``SaveAutoGrades`` then records and ``generate_feedback`` shows (a grade cell
the student deleted is back by then: nbgrader's ``OverwriteCells`` with
``add_missing_cells``). Configured in ``nbgrader_config.py``.
"""
from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbgrader.preprocessors import DeduplicateIds as _NbgraderDeduplicateIds
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from .notebook import grade_id, is_answer_cell, is_grade_cell, submission_cells
from .scan import flags


class DeduplicateIds(_NbgraderDeduplicateIds):
    """nbgrader's, except that a duplicated cell loses its nbgrader metadata entirely.

    nbgrader 0.9.6 leaves an empty ``nbgrader`` dict on the duplicate, which its
    own CheckCellMetadata then rejects as an outdated schema, and that error
    stops the whole autograde batch. The last copy keeps the grade id.
    """

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            if cell.get("metadata", {}).get("nbgrader") == {}:
                del cell.metadata["nbgrader"]
        return nb, resources


def trusted_outputs(points: float, report: str, count: int | None = None) -> list:
    return [nbformat.v4.new_output("stream", name="stdout", text=report + "\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(points))},
                                   execution_count=count)]


class TrustedScores(NbGraderPreprocessor):
    """Score each grade cell in isolated processes; the kernel's own grade-cell output is discarded."""

    max_file_mb = Integer(100, help="files above this size in a submission's folder are removed "
                                    "from the autograded copy and named in the feedback").tag(config=True)

    def drop_huge_files(self, nb, resources) -> None:
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        dropped = []
        for path in folder.rglob("*"):
            try:
                size = path.stat().st_size if path.is_file() and not path.is_symlink() else 0
            except OSError:
                continue
            if size > self.max_file_mb << 20:
                path.unlink(missing_ok=True)
                dropped.append(f"{path.relative_to(folder)} ({size >> 20} MB)")
        if dropped:
            note = (f"The grader ignored files over {self.max_file_mb} MB in this submission: "
                    + ", ".join(dropped) + ".")
            self.log.warning("%s: %s", resources.get("nbgrader", {}).get("student"), note)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**{note}**"))

    def preprocess(self, nb, resources):
        from .isolation import grade_cells
        from .registry import assignments

        self.drop_huge_files(nb, resources)

        assignment = resources.get("nbgrader", {}).get("assignment")
        table = assignments()
        if assignment not in table:
            self.log.warning("No checks for assignment %r: grade cells keep the kernel's output", assignment)
            return nb, resources
        aspects = [a for task in table[assignment].values() for a in task]
        cells = submission_cells(nb)
        found = flags(cells, table[assignment])
        if found:
            self.log.warning("%s: flags for the instructor (no points are taken for them):\n  %s",
                             resources.get("nbgrader", {}).get("student"), "\n  ".join(found))
            nb.cells.append(nbformat.v4.new_markdown_cell(
                "**For the instructor (no points are taken for these):**\n\n"
                + "\n".join(f"- {line}" for line in found)))
        start = time.monotonic()
        scores = {a.id: (points, report) for a, points, report in grade_cells(cells, aspects)}
        self.log.info("Scored %d aspects in isolated workers in %.1f s", len(aspects), time.monotonic() - start)
        for cell in nb.cells:
            gid = grade_id(cell)
            if is_grade_cell(cell) and not is_answer_cell(cell) and gid in scores:
                cell.outputs = trusted_outputs(*scores[gid], cell.get("execution_count"))
        return nb, resources


class SaveAutoGrades(NbGraderPreprocessor):
    """nbgrader's SaveAutoGrades, with a notebook's scores and comments written in one transaction.

    nbgrader's own commits after every cell: a grading process killed while it saves (a class
    run stopped, a worker out of memory) would leave some cells with the new score and the
    rest with the old one. Here either every cell of the notebook has its new score and
    comment, or none has. Same fields, same rules: the manual score is never touched, and a
    cell is marked for manual grading when it has a manual score or no automatic one.
    """

    def preprocess(self, nb, resources):
        from nbgrader import utils
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        key = (info["notebook"], info["assignment"], info["student"])
        with Gradebook(info["db_url"]) as gb:
            try:
                for cell in nb.cells:
                    if utils.is_grade(cell):
                        grade = gb.find_grade(cell.metadata.nbgrader["grade_id"], *key)
                        grade.auto_score, _ = utils.determine_grade(cell, self.log)
                        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
                    if utils.is_solution(cell) or utils.is_task(cell):
                        comment = gb.find_comment(cell.metadata.nbgrader["grade_id"], *key)
                        unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
                        comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None
                gb.db.commit()
            except BaseException:
                gb.db.rollback()
                raise
        return nb, resources
