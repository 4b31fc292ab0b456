"""Every place that names the assignments names the same ones.

An assignment is its notebook ``source/<id>/<id>.ipynb``, its folder ``medgrade/assignments/<id>/``
(the aspects its checks declare, its mutants), nbgrader's ``release/<id>/`` and
``solutions/<id>/``, and a row and a column of the README's tables. Each test names the one piece
that is missing, in one line, and what makes it; ``./course new ID "Title"`` makes them all.
"""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys

import pytest

from medgrade.assignments import ID
from medgrade.classroom import new_assignment
from medgrade.mutants import Mutant
from medgrade.notebook import PACKAGE_ROOT as ROOT

PACKAGE = ROOT / "medgrade" / "assignments"
PARTS = ("__init__.py", "checks.py", "inputs.py", "reference.py", "mutants.py")
CATALOGUE = "README.md's catalogue (the table at the top)"
NUMBERS = "README.md's table of numbers"


def _folders(parent) -> set[str]:
    return {p.name for p in parent.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))} \
        if parent.is_dir() else set()


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def _known() -> list[str]:
    """The assignments: the folders of the two places that define one, the notebooks and the checks."""
    return sorted(_folders(ROOT / "source") | _folders(PACKAGE))


def _where(assignment: str) -> str:
    return "source/" if assignment in _folders(ROOT / "source") else "medgrade/assignments/"


def _missing(assignment: str, piece: str, fix: str) -> None:
    """Fail with one line: where the assignment is, and the piece that is not there."""
    _fail(f"assignment {assignment}: {_where(assignment)} has it but {piece} is missing ({fix})")


def _fail(message: str) -> None:
    pytest.fail(message, pytrace=False)


def _first_line(e: Exception) -> str:
    return f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"


KNOWN = _known()


@pytest.mark.parametrize("assignment", KNOWN)
def test_source_notebook(assignment):
    folder = ROOT / "source" / assignment
    if not folder.is_dir():
        _missing(assignment, f"source/{assignment}/{assignment}.ipynb", "./course new creates it")
    if not (folder / f"{assignment}.ipynb").is_file():
        _fail(f"assignment {assignment}: source/{assignment}/ has no {assignment}.ipynb "
              f"(the notebook is named after its folder)")


@pytest.mark.parametrize("assignment", KNOWN)
def test_grading_folder(assignment):
    folder = PACKAGE / assignment
    if not folder.is_dir():
        _missing(assignment, f"medgrade/assignments/{assignment}/", "./course new creates it")
    if not ID.fullmatch(assignment):
        _fail(f"medgrade/assignments/{assignment}/ is not named NN_topic (two digits, an underscore, lowercase "
              "letters, digits and underscores): it is not found as an assignment")
    for part in PARTS:
        if not (folder / part).is_file():
            _fail(f"assignment {assignment}: medgrade/assignments/{assignment}/{part} is missing "
                  f"(./course new writes one of each: {', '.join(PARTS)})")


GENERATED = [("release", "generate_assignment"), ("solutions", "generate_solution")]


@pytest.mark.parametrize("kind,command", GENERATED)
@pytest.mark.parametrize("assignment", KNOWN)
def test_nbgrader_output(assignment, kind, command):
    if not (ROOT / kind / assignment / f"{assignment}.ipynb").is_file():
        _missing(assignment, f"{kind}/{assignment}/{assignment}.ipynb",
                 f"nbgrader {command} {assignment} --force makes it from source/")


@pytest.mark.parametrize("kind,command", GENERATED)
def test_nbgrader_output_only_of_assignments(kind, command):
    for stray in sorted(_folders(ROOT / kind) - set(KNOWN)):
        _fail(f"{kind}/{stray}/ is not an assignment's: there is no source/{stray}/ nor medgrade/assignments/{stray}/ "
              f"(nbgrader {command} made it from a notebook that is gone: remove it)")


@pytest.mark.parametrize("assignment", KNOWN)
def test_readme_catalogue_row(assignment):
    if new_assignment.catalogue_table(_readme()) is None:
        pytest.skip("README.md has no catalogue (test_readme_tables_name_only_assignments says so)")
    if assignment not in new_assignment.catalogue_ids(_readme()):
        _missing(assignment, f"a row `{assignment}` in {CATALOGUE}", "./course new adds one")


@pytest.mark.parametrize("assignment", KNOWN)
def test_readme_numbers_column(assignment):
    text = _readme()
    if new_assignment.numbers_table(text) is None:
        pytest.skip("README.md has no table of numbers (test_readme_tables_name_only_assignments says so)")
    if assignment not in {new_assignment.assignment_of(c, KNOWN) for c in new_assignment.column_labels(text)}:
        _missing(assignment, f"a column {new_assignment.label_of(assignment, KNOWN)} in {NUMBERS}",
                 "./course new adds one")


def _part(assignment: str, name: str, *, for_another: bool = False):
    """An assignment folder's module, or one line saying why it cannot be had (a skip where
    another test of the same folder says it)."""
    if not (PACKAGE / assignment / f"{name}.py").is_file():
        pytest.skip(f"no medgrade/assignments/{assignment}/{name}.py (test_grading_folder says so)")
    try:
        return importlib.import_module(f"medgrade.assignments.{assignment}.{name}")
    except Exception as e:
        why = _first_line(e)
    if for_another:
        pytest.skip(f"medgrade/assignments/{assignment}/{name}.py does not import "
                    "(test_checks_declare_the_folders_aspects says so)")
    _fail(f"medgrade/assignments/{assignment}/{name}.py does not import: {why}")


def _aspects_of(assignment: str, *, for_another: bool = False) -> list:
    """The aspects the folder's checks.py declares (whatever assignment they name)."""
    from medgrade.registry import ASPECTS
    module = _part(assignment, "checks", for_another=for_another).__name__
    return [a for a in ASPECTS.values() if getattr(a.check, "__wrapped__", a.check).__module__ == module]


@pytest.mark.parametrize("assignment", KNOWN)
def test_checks_declare_the_folders_aspects(assignment):
    declared = _aspects_of(assignment)
    if not declared:
        _fail(f"assignment {assignment}: medgrade/assignments/{assignment}/checks.py declares no aspect "
              f"(@aspect(A, task=..., points=...) from medgrade.registry, with A = \"{assignment}\")")
    for a in declared:
        if a.assignment != assignment:
            _fail(f"assignment {assignment}: medgrade/assignments/{assignment}/checks.py declares {a.id} for "
                  f"assignment {a.assignment!r} (A must be the folder's name, \"{assignment}\")")


@pytest.mark.parametrize("assignment", KNOWN)
def test_mutants_module(assignment):
    module = _part(assignment, "mutants")
    where = f"medgrade/assignments/{assignment}/mutants.py"
    for name, kind in (("MUTANTS", (list, tuple)), ("DEMO", tuple)):
        if not isinstance(getattr(module, name, None), kind):
            _fail(f"assignment {assignment}: {where} defines no {name} "
                  f"({'a list of medgrade.mutants.Mutant' if name == 'MUTANTS' else 'a tuple of mutant names'})")
    names = [m.name for m in module.MUTANTS if isinstance(m, Mutant)]
    if len(names) != len(module.MUTANTS):
        _fail(f"assignment {assignment}: {where}: MUTANTS holds something that is not a medgrade.mutants.Mutant")
    for name in module.DEMO:
        if name not in names:
            _fail(f"assignment {assignment}: {where}: DEMO names {name!r}, which is not in MUTANTS")
    aspects = {a.id: a for a in _aspects_of(assignment, for_another=True)}
    if not aspects:
        pytest.skip(f"{assignment}'s checks.py declares no aspect (test_checks_declare_the_folders_aspects says so)")
    tasks = {a.task for a in aspects.values()}
    for m in module.MUTANTS:
        if m.function not in tasks:
            _fail(f"assignment {assignment}: {where}: mutant {m.name} edits {m.function!r}, which is not one of "
                  f"its tasks ({', '.join(sorted(tasks))})")
        for aspect_id in (*m.breaks, *m.keeps):
            if aspect_id not in aspects:
                _fail(f"assignment {assignment}: {where}: mutant {m.name} names aspect {aspect_id!r}, which its "
                      "checks.py does not declare")


def test_the_registry_has_a_folder_for_each_assignment():
    from medgrade.registry import assignments
    try:
        declared = assignments()
    except Exception:
        pytest.skip("a folder's checks.py does not import (test_checks_declare_the_folders_aspects says which)")
    for assignment, tasks in declared.items():
        if not (PACKAGE / assignment).is_dir():
            aspect = next(a for t in tasks.values() for a in t)
            _fail(f"the registry has assignment {assignment} (aspect {aspect.id}, "
                  f"{aspect.check.__module__}) but medgrade/assignments/{assignment}/ is missing")


def test_readme_tables_name_only_assignments():
    text = _readme()
    if new_assignment.catalogue_table(text) is None:
        _fail("README.md has no catalogue: a table whose header starts with '| assignment |'")
    if new_assignment.numbers_table(text) is None:
        _fail("README.md has no table of numbers: a table whose header is '| | 01 | 02 | ...' "
              "(an assignment's number, or its id, per column)")
    for row in new_assignment.catalogue_ids(text):
        if row not in KNOWN:
            _fail(f"{CATALOGUE} has a row {row!r} but there is no source/{row}/ nor medgrade/assignments/{row}/")
    for label in new_assignment.column_labels(text):
        if new_assignment.assignment_of(label, KNOWN) is None:
            several = [a for a in KNOWN if a[:2] == label]
            _fail(f"{NUMBERS} has a column {label!r} that names " + (
                f"several assignments ({', '.join(several)}): head their columns with their ids" if several
                else "no assignment of source/ or medgrade/assignments/"))


def test_readme_table_of_numbers_is_whole():
    table = new_assignment.numbers_table(_readme())
    if table is None:
        pytest.skip("README.md has no table of numbers (test_readme_tables_name_only_assignments says so)")
    for row in table.body:
        if len(row) != len(table.header):
            _fail(f"{NUMBERS}: the row {row[0]!r} has {len(row)} cells, its header {len(table.header)}")


# ---------------------------------------------------------------- ./course new

def _state() -> dict:
    """What ./course new would write to: the folders' names and the README."""
    return {**{kind: sorted(_folders(ROOT / kind)) for kind in ("source", "release", "solutions")},
            "medgrade/assignments": sorted(_folders(PACKAGE)), "README.md": _readme()}


def _new(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MEDGRADE_COURSE_ROOT"}
    return subprocess.run([sys.executable, "-m", "medgrade.classroom.new_assignment", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("bad", ["9_short", "12_Segmentation", "12-segmentation", "12_", "segmentation", "123_x",
                                 "12_two__underscores", "../12_escape"])
def test_new_refuses_a_bad_id(bad):
    before = _state()
    with pytest.raises(new_assignment.Refused, match="is not an assignment id"):
        new_assignment.check_request(bad, "A title", ROOT)
    assert _state() == before


@pytest.mark.parametrize("title", ["", "two\nlines", 'a "quoted" title', "a | b"])
def test_new_refuses_a_bad_title(title):
    with pytest.raises(new_assignment.Refused, match="the title must be"):
        new_assignment.check_request("98_fine", title, ROOT)


def test_new_refuses_a_bad_or_existing_id_in_one_line_and_writes_nothing():
    existing = KNOWN[0]
    before = _state()
    for args, expected in [(("9_bad", "Title"), "'9_bad' is not an assignment id"),
                           ((existing, "Title"), f"assignment {existing} exists already (source/{existing}/)"),
                           (("98_only_an_id",), "usage: ./course new ID")]:
        proc = _new(*args)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], (proc.returncode, proc.stderr)
        assert proc.stdout == ""
    assert _state() == before


SMALL_README = """# A course

| assignment | question(s) | you implement |
|---|---|---|
| `01_first` | Q1 | one |
| `14_later` | Q2 | two |

Between the tables.

| | 01 | 14 |
|---|---|---|
| points (aspects) | 14 (8) | 19 (9) |
| mutants in `mutants.py` (honest variants) | 27 (1) | 28 (2) |
| solved notebook, top to bottom | 11 s | 12 s |

After them.
"""


def test_new_adds_a_row_and_a_column_to_the_readme():
    ids = ["01_first", "14_later"]
    added = new_assignment.add_to_readme(SMALL_README, "05_middle", "Middle", ids=ids, points=3, aspects=2,
                                         mutants=5, honest=1)
    assert new_assignment.catalogue_ids(added) == ["01_first", "05_middle", "14_later"]
    assert "| `05_middle` | – | Middle |" in added.splitlines()
    assert new_assignment.column_labels(added) == ["01", "05", "14"]
    rows = {row[0]: row[2] for row in new_assignment.numbers_table(added).body}
    assert rows == {"points (aspects)": "3 (2)", "mutants in `mutants.py` (honest variants)": "5 (1)",
                    "solved notebook, top to bottom": "–"}
    assert added.count("\n") == SMALL_README.count("\n") + 1
    assert added.startswith("# A course\n") and added.endswith("\nAfter them.\n")
    assert new_assignment.add_to_readme(added, "05_middle", "Middle", ids=ids + ["05_middle"], points=3,
                                        aspects=2, mutants=5, honest=1) == added

    shared = new_assignment.add_to_readme(SMALL_README, "14_shared", "Shared", ids=ids, points=3, aspects=2,
                                          mutants=5, honest=1)
    assert new_assignment.column_labels(shared) == ["01", "14_later", "14_shared"]   # a number two share: ids


@pytest.mark.slow
def test_new_makes_an_assignment_that_passes_the_course_tests(tmp_path):
    """In a copy of the repository: ./course new, then this file, the registry's tests and the new
    aspects' test_checks pass there."""
    copy = tmp_path / "course"
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", ".hypothesis", "*.egg-info")
    for name in ("medgrade", "medimg", "source", "release", "solutions", "tests"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    for name in ("README.md", "nbgrader_config.py", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    env = {k: v for k, v in os.environ.items() if k != "MEDGRADE_COURSE_ROOT"}
    env["PYTHONPATH"] = str(copy)
    made = subprocess.run([sys.executable, "-m", "medgrade.classroom.new_assignment", "98_made_here", "Made here"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr
    assert (copy / "release" / "98_made_here" / "98_made_here.ipynb").is_file()
    assert "98_made_here" in new_assignment.catalogue_ids((copy / "README.md").read_text())
    chosen = ("98_made_here or ct_window or test_structure or test_registry or shows_its_figures "
              "or use_the_glossarys_words or release_has_no_solutions or committed_notebooks_have_no_outputs")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:xdist", "-m", "not slow", "-k", chosen,
                            "tests/test_structure.py", "tests/test_registry.py", "tests/test_layout.py",
                            "tests/test_checks.py"],
                           cwd=copy, env=env, capture_output=True, text=True, timeout=1200)
    assert tests.returncode == 0, tests.stdout[-3000:]
    for ran in ("test_solution_earns_full_points[ct_window_correct] PASSED",
                "test_release_stub_earns_zero[ct_window_contract] PASSED",
                "test_grading_folder[98_made_here] PASSED", "test_grade_cells_match_registry[98_made_here] PASSED",
                "test_every_chapter_says_how_it_is_graded_and_shows_its_figures PASSED"):
        assert ran in tests.stdout, tests.stdout[-3000:]
