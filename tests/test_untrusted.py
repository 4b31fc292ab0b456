"""A submission is untrusted in every page that shows it (tests/redteam/xss.py's vectors).

The browser test grades a hostile submission with the real autograde in a copy of the course,
serves the course with an ordinary Jupyter server (a token, XSRF checks on), logs in as the
instructor and opens every page that shows the submission: formgrader's submission view and
student pages, the feedback (served and as a local file), the class report, the autograded
notebook in JupyterLab. No payload may run, load a URL, write a file or navigate.
"""
from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from medgrade.demo import tool_env
from medimg.launch import free_port
from tests.conftest import load_notebook
from medgrade.notebook import PACKAGE_ROOT as ROOT
from tests.helpers import copy_course, require
from medgrade import sanitize
from medgrade.notebook import is_answer_cell, rebuild
from tests.redteam.xss import dangers, hostile_notebook, hostile_student_ids, payload

ASSIGNMENT = "01_conv_arithmetic"
HOSTILE = "mallory"
ORIGIN = "http://127.0.0.1:9"


def _outputs():
    """What the hostile answer cell makes its kernel display (tests/redteam/xss.py runs it for real)."""
    js = payload("unit", ORIGIN)
    img = f'<img src="x" onerror="{js}">'
    bundles = [{"text/html": img}, {"image/svg+xml": f'<svg onload="{js}"><script>{js}</script></svg>'},
               {"application/javascript": js}, {"text/markdown": img}, {"text/latex": "$\\href{javascript:1}{x}$"},
               {"application/vnd.jupyter.widget-view+json": {"model_id": "m", "version_major": 2, "version_minor": 0}},
               {"text/html": f'<iframe srcdoc="<script>{js}</script>"></iframe>', "image/png": "iVBORw0KGgo="}]
    out = [nbformat.v4.new_output("display_data", data=dict(b, **{"text/plain": "x"}),
                                  metadata={"text/html": {"isolated": False}}) for b in bundles]
    out += [nbformat.v4.new_output("stream", name="stdout", text=img),
            nbformat.v4.new_output("error", ename="ValueError", evalue=img, traceback=[img])]
    return out


def _body(nb, **config) -> str:
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    page, _ = HTMLExporter(config=Config(HTMLExporter=config), template_name="classic").from_notebook_node(nb)
    return page[page.index("<body"):]


def _with_outputs(nb):
    next(c for c in nb.cells if is_answer_cell(c)).outputs = _outputs()
    return nb


def test_the_autograded_notebook_is_inert_in_any_renderer():
    """The autograded notebook itself holds nothing that runs: rendered by nbconvert without any
    sanitizing (a renderer that trusts it), it holds what the solved notebook holds."""
    hostile = _with_outputs(rebuild(hostile_notebook(load_notebook("solutions", ASSIGNMENT), ORIGIN), ASSIGNMENT).nb)
    sanitize.notebook_outputs(hostile)
    solved = rebuild(load_notebook("solutions", ASSIGNMENT), ASSIGNMENT).nb
    assert sorted(dangers(_body(hostile))) == sorted(dangers(_body(solved)))


def test_the_pages_nbgrader_renders_are_inert_without_the_rebuild():
    """The second layer alone: the submission as it came (markdown and rich outputs), rendered
    the way nbgrader_config.py configures nbgrader's pages, holds what the solved notebook holds;
    a missing attachment does not stop the page."""
    from traitlets.config import Config
    config = Config()
    exec(compile((ROOT / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec"),
         {"get_config": lambda: config, "__file__": str(ROOT / "nbgrader_config.py")})
    course = {k: v for k, v in config.HTMLExporter.items()}
    hostile = _with_outputs(hostile_notebook(load_notebook("solutions", ASSIGNMENT), ORIGIN))
    hostile.cells = [c for c in hostile.cells if c.cell_type != "raw" and not c.metadata.get("tags")]
    solved = load_notebook("solutions", ASSIGNMENT)
    assert sorted(dangers(_body(hostile, **course))) == sorted(dangers(_body(solved, **course)))


def test_ordinary_markdown_stays_as_written():
    """Markdown without HTML stays markdown (math, tables, links, pasted images); markdown with
    HTML becomes sanitized HTML that keeps its text, emphasis and math."""
    text = ("## Notes\n\nWith *emphasis*, `code`, [a link](https://pytorch.org), math $\\frac{a}{b} < 1$ and\n\n"
            "$$\\sum_i x_i$$\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![scan](attachment:scan.png)")
    cell = nbformat.v4.new_markdown_cell(text)
    cell["attachments"] = {"scan.png": {"image/png": "iVBORw0KGgo="}}
    safe, changed = sanitize.markdown_cell(cell)
    assert not changed and safe.source == text and safe.attachments == cell.attachments
    cell.source = text.replace("*emphasis*", "<b>bold</b>") + "<img src=x onerror=alert(1)>"
    mixed, changed = sanitize.markdown_cell(cell)
    assert changed and "<b>bold</b>" in mixed.source and "$\\frac{a}{b} &lt; 1$" in mixed.source
    assert "data:image/png;base64,iVBORw0KGgo=" in mixed.source and "onerror" not in mixed.source
    assert "\n" not in mixed.source                # one HTML block: renderers pass it through as it is


def _run(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=course, capture_output=True, text=True,
                          env=tool_env(MEDGRADE_COURSE_ROOT=str(course)))


def _expected(course: Path) -> dict:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submissions = [{"student": s.student.id, "id": nb.id}
                       for s in gb.find_assignment(ASSIGNMENT).submissions for nb in s.notebooks]
        students = sorted(s.id for s in gb.students)
    feedback = sorted(str(p.relative_to(course)) for p in (course / "feedback").rglob("*.html"))
    return {"assignment": ASSIGNMENT, "hostile": HOSTILE, "submissions": submissions, "students": students,
            "feedback": [f for f in feedback if f"/{HOSTILE}/" in f] + [f for f in feedback if f"/{HOSTILE}/" not in f],
            "report": "reports/class_report.html",
            "autograded": f"autograded/{HOSTILE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"}


@pytest.mark.slow
def test_no_submission_runs_script_in_the_instructors_browser(tmp_path):
    from tests import browser
    require(browser.missing())
    course = copy_course(tmp_path / "course")
    port = free_port()
    nb = hostile_notebook(load_notebook("solutions", ASSIGNMENT), f"http://127.0.0.1:{port}")
    path = tmp_path / f"{ASSIGNMENT}.ipynb"
    nbformat.write(nb, path)
    proc = _run(course, "-m", "medgrade.demo", ASSIGNMENT, "-j", "1", "--add", f"{HOSTILE}={path}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # a student whose id is markup: never graded, so never shown (nbgrader's own formgrader
    # pages print student ids as they are)
    for student in hostile_student_ids():
        odd = course / "submitted" / student / ASSIGNMENT
        odd.mkdir(parents=True)
        shutil.copyfile(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", odd / f"{ASSIGNMENT}.ipynb")
    raw = _run(course, "-m", "nbgrader", "autograde", ASSIGNMENT)
    classwide = _run(course, "-m", "medgrade.classgrade", "autograde", ASSIGNMENT, "-j", "1", "--quiet")
    assert classwide.returncode == 1 and "not a usable student id" in classwide.stdout, classwide.stdout[-2000:]
    assert _run(course, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force").returncode == 0
    expected = _expected(course)
    assert not set(hostile_student_ids()) & set(expected["students"]), raw.stdout[-2000:] + raw.stderr[-2000:]
    assert HOSTILE in expected["students"]

    output = browser.REPORTS / "browser-untrusted"
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    token = secrets.token_hex(16)
    with browser.jupyter_lab(course, output / "jupyterlab.log", port=port, token=token) as url:
        proc, downloaded = browser.playwright(url, course, output / "results", "--project=untrusted",
                                              expect=expected, capture=True, COURSE_UI_TOKEN=token)
    shown = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "4 passed" in shown, f"{output / 'results'}\n{shown[-8000:]}"
    assert downloaded == []
    assert not list(course.glob("xss-*.txt"))
