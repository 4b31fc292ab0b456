"""What a submission may put in front of a person: markup a browser shows without running it.

A submission is shown in the instructor's browser (formgrader, logged in to a Jupyter server
that can run code) and in the student's (the feedback page). Whatever the student wrote or
printed is made inert here, with an allow-list sanitizer (nh3, the bindings of Rust's ammonia):

- :func:`clean_html`: tags and attributes of ordinary documents only; links to http(s) and
  mailto; images from ``data:`` (raster) or the submission's own folder; no script, styles,
  frames, forms, event handlers, ids or classes.
- :func:`markdown_cell`: a student's markdown cell with no raw HTML and no risky link or
  TeX command stays as it is; otherwise it becomes the sanitized HTML of its rendering, one
  HTML block that every markdown renderer passes through as it is.
- :func:`outputs`: the outputs of a cell the kernel ran, kept to text, raster images and
  sanitized HTML (an SVG as an image, markdown as sanitized HTML); scripts, widgets and
  everything else dropped.
- :func:`markdown2html`: nbconvert's ``markdown2html`` filter, sanitized, for the pages
  nbgrader renders (formgrader's submission view, the feedback; ``nbgrader_config.py``).
- :func:`usable_id`: a student id that is safe to print in a page as it is (nbgrader's own
  formgrader templates print ids unescaped).
"""
from __future__ import annotations

import base64
import binascii
import html
import re
from typing import Any

import jinja2
import nh3

TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "a", "em", "strong", "b", "i", "u", "s",
        "del", "ins", "mark", "small", "sub", "sup", "code", "pre", "kbd", "samp", "var", "blockquote",
        "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
        "caption", "img", "div", "span", "figure", "figcaption", "abbr", "cite", "q"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
              "th": {"align", "colspan", "rowspan", "style"}, "td": {"align", "colspan", "rowspan", "style"},
              "ol": {"start"}, "abbr": {"title"}}
RASTER = ("image/png", "image/jpeg", "image/gif", "image/webp")
_DATA_IMAGE = re.compile(r"data:(image/(?:png|jpeg|gif|webp));base64,[A-Za-z0-9+/=\s]*", re.I)
_DATA_SVG = re.compile(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=\s]*", re.I)
_RELATIVE_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ ./-]*\.(?:png|jpe?g|gif|webp|svg)", re.I)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")
# TeX commands of MathJax's that link, style or load: a formula may not carry them
_RISKY_TEX = re.compile(r"\\(href|url|class|cssId|style|html|require|data|unicode|mmlToken)\b")
MAX_IMAGE_BYTES = 8 << 20


def usable_id(text: str) -> bool:
    """A student or notebook id made of letters, digits and ``_ . @ + -`` (no markup, no spaces)."""
    return bool(_ID.fullmatch(text or ""))


def safe_url(tag: str, attribute: str, value: str) -> str | None:
    """The value of a URL attribute, or None when it could run script, navigate by itself or
    load from elsewhere: links to http(s), mailto and anchors; images from data: URLs of
    raster formats (or SVG, which an <img> never runs) and from files beside the notebook."""
    url = value.strip()
    if attribute == "href":
        return url if re.match(r"(https?://|mailto:|#)", url, re.I) else None
    if attribute == "src" and tag == "img":
        if _DATA_IMAGE.fullmatch(url) or _DATA_SVG.fullmatch(url):
            return url
        if _RELATIVE_FILE.fullmatch(url) and ".." not in url.split("/") and not url.startswith("/"):
            return url
    return None


def _attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute in ("href", "src"):
        return safe_url(tag, attribute, value)
    return value


def clean_html(text: str) -> str:
    """``text`` with only the allow-listed tags and attributes; script and style contents dropped."""
    return nh3.clean(text, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_attribute,
                     url_schemes={"http", "https", "mailto", "data"}, strip_comments=True,
                     link_rel="noopener noreferrer nofollow", filter_style_properties={"text-align"},
                     clean_content_tags={"script", "style", "template", "textarea", "title", "noscript",
                                         "iframe", "noembed", "noframes", "xmp", "plaintext", "math", "svg"})


# ---------------------------------------------------------------- markdown

def attachments(cell) -> dict[str, dict[str, str]]:
    """A markdown cell's attachments that are raster images in valid base64, of a sane size."""
    kept: dict[str, dict[str, str]] = {}
    found = cell.get("attachments")
    if not isinstance(found, dict):
        return kept
    for name, bundle in found.items():
        if not (isinstance(name, str) and re.fullmatch(r"[\w .-]{1,100}", name) and isinstance(bundle, dict)):
            continue
        for mime in RASTER:
            data = bundle.get(mime)
            if isinstance(data, str) and _valid_base64(data):
                kept[name] = {mime: data}
                break
    return kept


def _valid_base64(data: str) -> bool:
    if len(data) > MAX_IMAGE_BYTES * 4 // 3 + 8:
        return False
    try:
        base64.b64decode(data, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _markdown(attached: dict, renderer: bool = True):
    from nbconvert.filters.markdown_mistune import InvalidNotebook, IPythonRenderer, MarkdownWithMath

    class Renderer(IPythonRenderer):
        """nbconvert's renderer; an image whose attachment is missing shows its text (nbconvert
        raises, which stopped the whole feedback and formgrader's page of that submission)."""

        def image(self, text, url, title=None):
            try:
                return super().image(text, url, title)
            except InvalidNotebook:
                return html.escape(text)

    return MarkdownWithMath(renderer=Renderer(escape=False, attachments=attached) if renderer else None)


def markdown_to_html(source: str, attached: dict | None = None) -> str:
    """The sanitized HTML of a markdown text, rendered as nbconvert renders it (math kept as text
    for MathJax, attachments as data: URLs)."""
    return clean_html(_neutral_tex(_markdown(attached or {}).render(source)))


def _neutral_tex(text: str) -> str:
    """MathJax's linking and styling commands written as text: ``\\href`` shows as ``href``."""
    return _RISKY_TEX.sub(lambda m: "\\text{" + m.group(1) + "}", text)


def _is_plain(source: str, attached: dict) -> bool:
    """True when the markdown holds no raw HTML and every link, image and formula is harmless,
    so that it may stay markdown (what mistune sees is what nbconvert renders)."""
    if _RISKY_TEX.search(source):
        return False
    tokens = _markdown(attached, renderer=False)(source)
    stack = list(tokens) if isinstance(tokens, list) else []
    while stack:
        token = stack.pop()
        if not isinstance(token, dict):
            continue
        kind = token.get("type", "")
        if "html" in kind:
            return False
        url = (token.get("attrs") or {}).get("url")
        if kind == "link" and (url is None or safe_url("a", "href", url) is None):
            return False
        if kind == "image" and url is not None:
            name = url[len("attachment:"):] if url.startswith("attachment:") else None
            if (name is not None and name not in attached) or (name is None and safe_url("img", "src", url) is None):
                return False
        stack.extend(token.get("children") or [])
    return True


def as_html_block(clean: str) -> str:
    """Sanitized HTML as one markdown HTML block: a single line inside a <div>, which markdown
    renderers (mistune, marked) pass through without reading it as markdown again. Newlines
    inside <pre> become character references; elsewhere they are spaces."""
    parts = re.split(r"(<pre\b.*?</pre>)", clean, flags=re.S | re.I)
    one_line = "".join(p.replace("\n", "&#10;") if p.lower().startswith("<pre") else p.replace("\n", " ")
                       for p in parts)
    return f"<div>{one_line}</div>"


def markdown_cell(cell) -> tuple[Any, bool]:
    """A student's markdown cell made safe: (the cell, whether its text changed). Its
    attachments are kept when they are raster images; its metadata is dropped."""
    import nbformat
    attached = attachments(cell)
    source = cell.get("source") if isinstance(cell.get("source"), str) else ""
    safe = nbformat.v4.new_markdown_cell(source)
    if attached:
        safe["attachments"] = attached
    if _is_plain(source, attached):
        return safe, False
    safe.source = as_html_block(markdown_to_html(source, attached))
    safe.pop("attachments", None)                   # now data: URLs inside the HTML
    return safe, True


@jinja2.pass_context
def markdown2html(context, source: str) -> str:
    """nbconvert's ``markdown2html`` template filter, sanitized (configured for the pages nbgrader
    renders in ``nbgrader_config.py``); the cell's attachments come from the template's context."""
    cell = context.get("cell", {}) if hasattr(context, "get") else {}
    return markdown_to_html(source, attachments(cell) if isinstance(cell, dict) else {})


# ---------------------------------------------------------------- outputs

def outputs(found) -> list:
    """The outputs of an executed cell, each reduced to what renders inert."""
    import nbformat
    kept = []
    for out in found if isinstance(found, list) else []:
        kind = out.get("output_type") if isinstance(out, dict) else None
        if kind == "stream":
            text = out.get("text")
            kept.append(nbformat.v4.new_output("stream", name="stderr" if out.get("name") == "stderr" else "stdout",
                                               text=text if isinstance(text, str) else ""))
        elif kind == "error":
            trace = out.get("traceback")
            kept.append(nbformat.v4.new_output("error", ename=str(out.get("ename", "")),
                                               evalue=str(out.get("evalue", "")),
                                               traceback=[str(t) for t in trace] if isinstance(trace, list) else []))
        elif kind in ("display_data", "execute_result"):
            data = _bundle(out.get("data"))
            if not data:
                continue
            meta = _image_sizes(out.get("metadata"), data)
            if kind == "execute_result":
                count = out.get("execution_count")
                kept.append(nbformat.v4.new_output(kind, data=data, metadata=meta,
                                                   execution_count=count if isinstance(count, int) else None))
            else:
                kept.append(nbformat.v4.new_output(kind, data=data, metadata=meta))
    return kept


def _bundle(data) -> dict:
    if not isinstance(data, dict):
        return {}
    kept: dict[str, str] = {}
    if isinstance(data.get("text/plain"), str):
        kept["text/plain"] = data["text/plain"]
    for mime in RASTER:
        if isinstance(data.get(mime), str) and _valid_base64(data[mime]):
            kept[mime] = data[mime]
    shown = []
    if isinstance(data.get("text/html"), str):
        shown.append(clean_html(data["text/html"]))
    elif isinstance(data.get("text/markdown"), str):
        shown.append(markdown_to_html(data["text/markdown"]))
    if isinstance(data.get("image/svg+xml"), str) and not any(m in kept for m in RASTER):
        svg = base64.b64encode(data["image/svg+xml"].encode()).decode()
        shown.append(f'<img src="data:image/svg+xml;base64,{svg}" alt="figure">')
    if any(s.strip() for s in shown):
        kept["text/html"] = "".join(shown)
    return kept


def _image_sizes(metadata, data: dict) -> dict:
    kept = {}
    if isinstance(metadata, dict):
        for mime in RASTER:
            size = metadata.get(mime)
            if mime in data and isinstance(size, dict):
                dims = {k: v for k, v in size.items() if k in ("width", "height") and isinstance(v, (int, float))}
                if dims:
                    kept[mime] = dims
    return kept


def notebook_outputs(nb) -> int:
    """Every code cell's outputs made inert, in place; the number of outputs removed."""
    removed = 0
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            before = cell.get("outputs") or []
            cell["outputs"] = outputs(before)
            removed += len(before) - len(cell["outputs"])
    return removed


def escape_markdown(text: str, limit: int = 80) -> str:
    """A string from a submission, quoted inside markdown the grader writes: shortened, with
    markup and markdown syntax escaped."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", html.escape(text, quote=False))



def unusable_submitted_ids(course: str) -> list[str]:
    """Folders under ``course/submitted`` whose names are not usable student ids (see
    :func:`usable_id`), for nbgrader's ``student_id_exclude``. A name holding a comma cannot be
    listed there; RebuildSubmission refuses to grade it."""
    import os
    folder = os.path.join(course, "submitted")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if not usable_id(n) and "," not in n and os.path.isdir(os.path.join(folder, n)))
