"""One nbgrader configuration for every command of the course."""
import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dl-medical-imaging"
c.CourseDirectory.solution_directory = "solutions"

# The gradebook: nbgrader's default SQLite file (gradebook.db here) unless COURSE_DB_URL names
# another, e.g. postgresql://grader@db.example.org/course for a class graded on many machines.
if os.environ.get("COURSE_DB_URL"):
    c.CourseDirectory.db_url = os.environ["COURSE_DB_URL"]

# Each cell must finish well inside this; the slowest graded cell takes a few seconds.
c.Execute.timeout = 120

# Warnings (torch writes them to stderr, some from C++) must never cost points:
# nbgrader scores a grade cell 0 when anything reaches stderr, so stderr is
# dropped after execution. Exceptions still show, and still score 0.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"

# Solutions are the source notebook with hidden tests kept and outputs cleared;
# they are not executed on generation, so the committed files are deterministic.
c.GenerateSolution.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.ClearMarkScheme",
]

# The kernel's own start-up warnings are not the student's business.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

# Before execution the submission is rebuilt from source/ (medgrade/nbgrader_trusted.py):
# the course's cells, metadata and kernel with the student's answers, so no metadata a
# student edits (points, grade ids, cell types, the kernel, cell ids, a deleted or duplicated
# grade cell) changes a score or stops the batch; cells the student added are kept as
# ordinary cells, their markdown made safe to show. nbgrader's own steps then check it.
c.Autograde.sanitize_preprocessors = [
    "medgrade.nbgrader_trusted.RebuildSubmission",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.OverwriteCells.add_missing_cells = True

# Scores come from outside the student's kernel: after execution, each grade
# cell's output is replaced by the score the course's checks compute with the
# submission's code in isolated worker processes (medgrade/nbgrader_trusted.py).
c.Autograde.autograde_preprocessors = [
    "medgrade.confined_kernel.ConfinedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "medgrade.nbgrader_trusted.SanitizeOutputs",
    "medgrade.nbgrader_trusted.TrustedScores",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "medgrade.nbgrader_trusted.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# SaveAutoGrades is nbgrader's, except that a notebook's scores and comments are written in
# one transaction: a grading killed while saving leaves the previous grades, never a mix.

# Autograde runs only the cells grading uses (setup, answer and grade cells):
# a chapter's experiments (training runs, timing tables, figures) and cells a
# student added are never graded, and the isolated grading does not run them
# either. Set True to execute whole notebooks (slower: every training run again).
c.ConfinedExecute.run_experiments = False

# ConfinedExecute is nbgrader's Execute with kernels started confined: writes
# only in the submission's folder, a memory cap, a process cap, everything
# they start killed at shutdown (medgrade/confined_kernel.py). It reads c.Execute.
# Kernels are forked from a process that has imported torch, about 2 s of CPU less per
# notebook; c.SandboxedKernelManager.fork = False starts each one as a new interpreter.

# A submission is shown in the instructor's browser (formgrader) and the student's (the
# feedback). Besides the autograde steps above, which keep only inert outputs and sanitized
# markdown in the autograded notebook, the pages nbgrader renders sanitize again: markdown
# through the course's allow-list (medgrade/sanitize.py), outputs through nbconvert's own
# sanitizer (no script or widget output is written into the page).
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"markdown2html": "medgrade.sanitize.markdown2html"}

# A new gradebook records the version of nbgrader's schema, which nbgrader asks a new
# `alembic` process for; the course reads the same version in the process itself.
from medgrade.classroom.nbgrader_cli import read_schema_version_in_process  # noqa: E402

read_schema_version_in_process()

# Student ids are folder names under submitted/, and nbgrader's own formgrader pages print
# them as they are: a folder whose name is not a plain id (markup, spaces, quotes) is never
# graded, so it never reaches the gradebook (./course class autograde reports it).
from medgrade.sanitize import unusable_submitted_ids  # noqa: E402

c.CourseDirectory.student_id_exclude = ",".join(unusable_submitted_ids(os.path.dirname(os.path.abspath(__file__))))
