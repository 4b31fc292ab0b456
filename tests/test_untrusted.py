"""A submission is untrusted in every page that shows it: the two layers, each on its own.

The autograded notebook holds nothing a renderer could run (the rebuild sanitizes markdown,
metadata and raw cells; SanitizeOutputs the outputs), and the pages nbgrader renders sanitize
again, so either layer alone keeps tests/redteam/xss.py's vectors inert. The browser test of
the whole (a hostile submission graded by the real autograde, opened by a logged-in instructor
in formgrader, the feedback, the class report and JupyterLab) is in test_end_to_end.py, on the
first assignment's end-to-end course.
"""
from __future__ import annotations

import nbformat

from medgrade import sanitize
from medgrade.notebook import PACKAGE_ROOT as ROOT
from medgrade.notebook import is_answer_cell, rebuild
from tests.conftest import load_notebook
from tests.redteam.xss import dangers, hostile_notebook, payload

ASSIGNMENT = "01_conv_arithmetic"


def _outputs():
    """What the hostile answer cell makes its kernel display (tests/redteam/xss.py runs it for real)."""
    js = payload("unit")
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
    hostile = _with_outputs(rebuild(hostile_notebook(load_notebook("solutions", ASSIGNMENT)), ASSIGNMENT).nb)
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
    hostile = _with_outputs(hostile_notebook(load_notebook("solutions", ASSIGNMENT)))
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
