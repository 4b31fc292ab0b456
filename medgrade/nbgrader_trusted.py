"""The course's steps of ``nbgrader autograde`` (configured in ``nbgrader_config.py``).

- :class:`RebuildSubmission` (first of the sanitizing steps): the notebook nbgrader grades is
  the course's source notebook with the student's answers (:func:`medgrade.notebook.rebuild`),
  its markdown safe to show.
- :class:`SanitizeOutputs` (after execution): what the kernel displayed, made inert.
- :class:`TrustedScores`: under ``nbgrader autograde`` the grade cells run inside the
  submission's own kernel, which the submission controls (it can patch a check, fake a
  result, install a display hook that turns every output into full marks). This step runs in
  nbgrader's own process after execution: it scores every aspect with
  :func:`medgrade.notebook.assess_rebuilt` (the setup and answer cells in isolated workers)
  and replaces each grade cell's outputs with the report and the score, which
  :class:`SaveAutoGrades` then records and ``generate_feedback`` shows.
- :class:`SaveAutoGrades`: nbgrader's, in one transaction, with the cells that reach the
  grader's machinery marked for manual grading.
"""
from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from medgrade.notebook import grade_id, is_answer_cell, is_grade_cell
from medgrade.registry import ASPECTS
from medgrade.sanitize import escape_markdown

# what TrustedScores logs for a notebook with an aspect that waits for an instructor (the class
# command's log says 'for review' when nbgrader's log of a notebook holds it)
NEEDS_REVIEW = "needs an instructor"


class RebuildSubmission(NbGraderPreprocessor):
    """The first sanitizing step: the submission rebuilt from the course's source notebook
    (:func:`medgrade.notebook.rebuild`): only the answers are the student's, so no metadata
    a student edits changes a score or stops the batch, and what they wrote is safe to show.
    A student or notebook id that is not a plain name (markup in a folder name) stops this
    notebook: nbgrader's own formgrader pages print ids as they are."""

    def preprocess(self, nb, resources):
        from medgrade.notebook import NotebookError, rebuild, source_notebook_path
        from medgrade.sanitize import usable_id
        info = resources.get("nbgrader", {})
        for what in ("student", "notebook"):
            if not usable_id(str(info.get(what, ""))):
                if what == "student":
                    self.forget(info)
                raise NotebookError(f"the {what} id {str(info.get(what))[:80]!r} is not a usable id "
                                    "(letters, digits and _ . @ + - only): not graded")
        if not source_notebook_path(info.get("notebook", "")).is_file():
            self.log.warning("No source notebook for %r: the submission is graded as it is", info.get("notebook"))
            return nb, resources
        rebuilt = rebuild(nb, info["notebook"])
        for note in rebuilt.notes:
            self.log.warning("%s/%s: %s", info.get("student"), info.get("notebook"), note)
        rebuilt.nb.metadata["medgrade"] = {"notes": rebuilt.notes}
        return rebuilt.nb, resources

    def forget(self, info: dict) -> None:
        """nbgrader has recorded the student and the submission before any preprocessor runs:
        neither may stay in the gradebook (the student list would print the id)."""
        from nbgrader.api import Gradebook, MissingEntry
        with Gradebook(info["db_url"]) as gb:
            try:
                gb.remove_submission(info["assignment"], info["student"])
            except MissingEntry:
                pass
            try:
                if not gb.find_student(info["student"]).submissions:
                    gb.remove_student(info["student"])
            except MissingEntry:
                pass


class SanitizeOutputs(NbGraderPreprocessor):
    """After execution: every output a cell produced made inert (:func:`medgrade.sanitize.outputs`):
    text, raster images and sanitized HTML; no script, widget or SVG markup reaches a page."""

    def preprocess(self, nb, resources):
        from medgrade.sanitize import notebook_outputs
        removed = notebook_outputs(nb)
        if removed:
            self.log.info("Removed %d outputs that a browser could run", removed)
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
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**{escape_markdown(note, 2000)}**"))

    def preprocess(self, nb, resources):
        from medgrade.notebook import assess_rebuilt
        from medgrade.registry import assignments

        self.drop_huge_files(nb, resources)
        info = resources.get("nbgrader", {})
        notes = nb.metadata.pop("medgrade", {}).get("notes", [])
        assignment = info.get("assignment")
        if assignment not in assignments():
            self.log.warning("No checks for assignment %r: grade cells keep the kernel's output", assignment)
            return nb, resources
        start = time.monotonic()
        found = assess_rebuilt(nb, assignment, notes)
        self.log.info("Scored %d aspects in isolated workers in %.1f s", len(found.scores), time.monotonic() - start)
        scores = {s.aspect: s for s in found.scores}
        for cell in nb.cells:
            gid = grade_id(cell)
            if is_grade_cell(cell) and not is_answer_cell(cell) and gid in scores:
                cell.outputs = trusted_outputs(scores[gid].points, scores[gid].report, cell.get("execution_count"))
        review = {s.aspect: s.review for s in found.scores if s.review}
        resources.setdefault("medgrade", {})["review"] = review
        resources["medgrade"]["comments"] = {
            f"{ASPECTS[s.aspect].task}_answer": s.review for s in found.scores if s.review and s.points == 0}
        summary = found.for_the_instructor()
        if summary:
            what = NEEDS_REVIEW if review else "has notes for the instructor"
            self.log.warning("%s/%s %s:\n  %s", info.get("student"), assignment, what,
                             "\n  ".join(summary.splitlines()[1:]).strip())
            nb.cells.append(nbformat.v4.new_markdown_cell(summary))
        return nb, resources


class SaveAutoGrades(NbGraderPreprocessor):
    """nbgrader's SaveAutoGrades, with a notebook's scores and comments written in one transaction.

    nbgrader's own commits after every cell: a grading process killed while it saves (a class
    run stopped, a worker out of memory) would leave some cells with the new score and the
    rest with the old one. Here either every cell of the notebook has its new score and
    comment, or none has. Same fields, same rules: the manual score is never touched, and a
    cell is marked for manual grading when it has a manual score or no automatic one, or when
    :class:`TrustedScores` sent it for review (its answer cell reaches the grader's machinery:
    the reason is the answer cell's comment, which formgrader and the feedback show).
    """

    def preprocess(self, nb, resources):
        from nbgrader import utils
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        key = (info["notebook"], info["assignment"], info["student"])
        review = resources.get("medgrade", {}).get("review", {})
        comments = resources.get("medgrade", {}).get("comments", {})
        with Gradebook(info["db_url"]) as gb:
            try:
                for cell in nb.cells:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                    if utils.is_grade(cell):
                        grade = gb.find_grade(gid, *key)
                        grade.auto_score, _ = utils.determine_grade(cell, self.log)
                        grade.needs_manual_grade = (grade.manual_score is not None or grade.auto_score is None
                                                    or gid in review)
                    if utils.is_solution(cell) or utils.is_task(cell):
                        comment = gb.find_comment(gid, *key)
                        unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
                        comment.auto_comment = ("No response." if unchanged and not utils.is_task(cell)
                                                else None)
                        if gid in comments:
                            comment.auto_comment = f"For review: {comments[gid]}"
                gb.db.commit()
            except BaseException:
                gb.db.rollback()
                raise
        return nb, resources
