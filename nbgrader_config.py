"""One nbgrader configuration for every command of the course."""
c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dl-medical-imaging"
c.CourseDirectory.solution_directory = "solutions"

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
