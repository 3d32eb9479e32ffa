"""HTML for browsers: the browsable API.

A browser that asks for ``text/html`` gets a self-contained page (inline CSS and JavaScript,
nothing from another host): the site's title and the path as breadcrumbs, the allowed methods, the
representation as pretty-printed JSON with URL values as links, a table of a collection's items,
and forms built from the resource's input schema for each unsafe method it allows. HTML forms can
only send ``GET``/``POST`` urlencoded, so the page's script submits them with ``fetch()`` as JSON,
with an optional bearer token kept in ``sessionStorage``.

Injection defences: every value, key and URL goes through `html.escape`; data for scripts sits in a
``type="application/json"`` element with ``<``, ``>`` and ``&`` escaped; the script writes server
answers with ``textContent`` only; and a Content-Security-Policy allows exactly this module's own
style and script (by hash), so even a missed escape could not run injected code.

JSON stays the site's default: a client that accepts anything (``*/*``, no ``Accept``) never gets
HTML. HTML is not a request body format: parsing it is a 415.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from marshmallow import Schema, fields, missing, validate

from .. import errors
from ..methods import SAFE_METHODS
from . import MediaHandler
from .json import JSONHandler

if TYPE_CHECKING:
    from ..endpoint import Endpoint
    from ..request import Request

__all__ = ["HTMLHandler"]

_e = html.escape  # quote=True: safe in text and in double-quoted attributes

_URL = re.compile(r"https?://[^\s\"'<>`]+", re.IGNORECASE)
_DATETIME_EXAMPLE = "2024-05-01T12:00:00Z"
_FORM_METHODS = ("POST", "PUT", "PATCH")
_FORM_TITLES = {
    "POST": ("Create", "creates a new resource from these fields"),
    "PUT": ("Replace", "replaces this resource: what you leave empty takes its default"),
    "PATCH": ("Update", "sends only the fields you change"),
    "DELETE": ("Delete", "deletes this resource"),
}

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:.8rem 1.5rem}
header a{color:#9ecbff;text-decoration:none}header a:hover{text-decoration:underline}
.rk-crumbs{font-size:1.15rem;margin:0}.rk-crumbs .sep{color:#8c959f;margin:0 .35rem}
.rk-allow{margin:.35rem 0 0;font-size:.85rem;color:#d0d7de}
.rk-allow code{background:#32383f;border-radius:4px;padding:.05rem .35rem;margin-right:.2rem}
main{max-width:70rem;margin:0 auto;padding:1rem 1.5rem 3rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1rem 1.2rem;
margin:1rem 0}
h1,h2,h3{margin:.1rem 0 .6rem}h2{font-size:1.1rem}h3{font-size:1rem}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.8rem;overflow:auto;
margin:.4rem 0;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.k{color:#0550ae}.s{color:#0a3069}a.s{color:#0969da}.n{color:#953800}
table{border-collapse:collapse;width:100%;font-size:.9rem;display:block;overflow-x:auto}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td code{font-size:.8rem}
.rk-field{margin:.55rem 0}.rk-field label{display:block;font-weight:600}
.rk-field input:not([type=checkbox]),.rk-field textarea,.rk-field select{width:100%;
max-width:32rem;padding:.35rem .5rem;border:1px solid #d0d7de;border-radius:6px;font:inherit}
.rk-field textarea{font-family:ui-monospace,monospace;min-height:5rem}
.rk-field [aria-invalid=true]{border-color:#cf222e}
.rk-hint{display:block;color:#656d76;font-size:.8rem}
.rk-error{display:block;color:#cf222e;font-size:.85rem}
abbr.req{color:#cf222e;text-decoration:none;margin-left:.15rem}
button{font:inherit;padding:.35rem .9rem;border-radius:6px;border:1px solid #1f883d;
background:#1f883d;color:#fff;cursor:pointer}
button.secondary{background:#f6f8fa;color:#24292f;border-color:#d0d7de}
button.danger{background:#cf222e;border-color:#cf222e}
button[disabled]{opacity:.6;cursor:progress}
.rk-problem{border-left:4px solid #cf222e;background:#ffebe9;padding:.5rem .8rem;margin-top:.7rem}
.rk-problem p{margin:.2rem 0}.rk-problem ul{margin:.3rem 0;padding-left:1.2rem}
.rk-note{color:#656d76;font-size:.85rem;margin:.2rem 0 .6rem}
.rk-badge{font-size:.75rem;border:1px solid #d4a72c;color:#7d4e00;background:#fff8c5;
border-radius:1rem;padding:0 .5rem;margin-left:.4rem;font-weight:400}
.rk-forms{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:0 1rem}
"""

_JS = """
(() => {
  "use strict";
  const TOKEN = "resourcekit.token";
  const token = document.getElementById("rk-token");
  if (token) {
    token.value = sessionStorage.getItem(TOKEN) || "";
    token.addEventListener("input", () => token.value
      ? sessionStorage.setItem(TOKEN, token.value) : sessionStorage.removeItem(TOKEN));
  }
  const headers = (accept, json) => {
    const h = {"Accept": accept};
    if (json) h["Content-Type"] = "application/json";
    const t = token && token.value.trim();
    if (t) h["Authorization"] = "Bearer " + t;
    return h;
  };
  const initial = new WeakMap();
  const controls = (form) => form.querySelectorAll("[data-kind]");
  for (const el of document.querySelectorAll("[data-kind]"))
    initial.set(el, el.type === "checkbox" ? el.checked : el.value);
  const changed = (el) => (el.type === "checkbox" ? el.checked : el.value) !== initial.get(el);
  const items = (raw) => raw.split(",").map((s) => s.trim()).filter(Boolean);
  const number = (raw) => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new Error("Not a valid number.");
    return n;
  };
  const read = (el) => {
    const kind = el.dataset.kind, raw = el.value;
    if (kind === "boolean") return el.checked;
    if (raw.trim() === "") return undefined;
    if (kind === "integer" || kind === "number") return number(raw);
    if (kind === "list") return items(raw);
    if (kind === "list-number") return items(raw).map(number);
    if (kind === "json") return JSON.parse(raw);
    return raw;
  };
  const cleared = (el) => "nullable" in el.dataset ? null
    : el.dataset.kind === "string" ? "" : undefined;
  const body = (form) => {
    const patch = form.dataset.method === "PATCH", out = {}, problems = {};
    for (const el of controls(form)) {
      if (patch && el.dataset.kind !== "body" && !changed(el)) continue;
      let value;
      try { value = read(el); } catch (err) { problems[el.dataset.key] = [err.message]; continue; }
      if (el.dataset.kind === "body") return value === undefined ? {} : value;
      if (value === undefined && patch) value = cleared(el);
      if (value !== undefined) out[el.dataset.key] = value;
    }
    if (Object.keys(problems).length)
      throw {title: "Some fields could not be read", errors: problems};
    return out;
  };
  const text = (tag, content) => {
    const el = document.createElement(tag);
    el.textContent = content;
    return el;
  };
  const clear = (form) => {
    for (const note of form.querySelectorAll(".rk-error")) note.textContent = "";
    for (const el of controls(form)) el.removeAttribute("aria-invalid");
    const box = form.querySelector(".rk-problem");
    box.replaceChildren();
    box.hidden = true;
  };
  const mark = (form, key, message) => {
    for (const el of controls(form)) {
      if (el.dataset.key !== key) continue;
      el.setAttribute("aria-invalid", "true");
      el.closest(".rk-field").querySelector(".rk-error").textContent = message;
    }
  };
  const show = (form, problem) => {
    const box = form.querySelector(".rk-problem");
    box.append(text("strong", [problem.status, problem.title].filter(Boolean).join(" ")));
    if (problem.detail) box.append(text("p", String(problem.detail)));
    const list = document.createElement("ul");
    const found = problem.errors && typeof problem.errors === "object" ? problem.errors : {};
    for (const [key, messages] of Object.entries(found)) {
      const message = [].concat(messages).join(" ");
      list.append(text("li", key + ": " + message));
      mark(form, key, message);
    }
    if (list.children.length) box.append(list);
    box.hidden = false;
  };
  const follow = (location_, fallback) => {
    const url = location_ ? new URL(location_, location.href) : null;
    if (url && (url.protocol === "http:" || url.protocol === "https:")) location.assign(url.href);
    else if (fallback) location.assign(fallback);
    else location.reload();
  };
  const send = async (form) => {
    const method = form.dataset.method;
    const payload = method === "DELETE" ? undefined : JSON.stringify(body(form));
    const response = await fetch(location.pathname, {method, body: payload,
      headers: headers("application/json", payload !== undefined), credentials: "same-origin"});
    if (response.ok) {
      if (response.status === 201) return follow(response.headers.get("Location"));
      return follow(null, method === "DELETE" ? form.dataset.parent : null);
    }
    let problem;
    try { problem = await response.json(); } catch { problem = {}; }
    if (!problem || typeof problem !== "object") problem = {};
    show(form, {status: response.status, title: response.statusText, ...problem});
  };
  for (const form of document.querySelectorAll("form[data-method]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.method === "DELETE" && !confirm("Delete this resource?")) return;
      clear(form);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try { await send(form); } catch (err) {
        show(form, err instanceof Error ? {title: err.name, detail: err.message} : err);
      } finally { button.disabled = false; }
    });
  }
  const query = document.getElementById("rk-query");
  if (query) query.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const el of controls(query)) {
      const raw = el.type === "checkbox" ? (el.checked ? "true" : "") : el.value.trim();
      const values = el.dataset.kind.startsWith("list") ? items(raw) : [raw];
      for (const value of values) if (value) params.append(el.dataset.key, value);
    }
    const search = params.toString();
    location.assign(location.pathname + (search ? "?" + search : ""));
  });
  const raw = document.getElementById("rk-raw");
  for (const button of document.querySelectorAll("button[data-accept]")) {
    button.addEventListener("click", async () => {
      const response = await fetch(location.href, {headers: headers(button.dataset.accept)});
      raw.textContent = await response.text();
      raw.hidden = false;
    });
  }
})();
"""


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


_CSP = (
    f"default-src 'none'; style-src {_sha256(_CSS)}; script-src {_sha256(_JS)}; "
    "connect-src 'self'; img-src data:; form-action 'self'; base-uri 'none'"
)
"""Only this module's own style and script run; the page can reach no other host."""

_CSP_HEADER = f"{_CSP}; frame-ancestors 'none'"
"""The policy as a response header, which alone can say who may frame the page (a ``<meta>``
policy cannot carry ``frame-ancestors``): nobody, so no other site can overlay its forms."""


class HTMLHandler(MediaHandler):
    """Renders representations and problems as HTML pages for people using a browser."""

    media_types = ("text/html",)
    problem_type = "text/html"
    charset = "utf-8"
    parses = False
    """Not a request body format (a hint for whoever lists the formats a site reads)."""
    response_headers = (("Content-Security-Policy", _CSP_HEADER),)
    """Sent by the site with every page, problems included."""

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        """The page without a request: the representation, no breadcrumbs, no forms."""
        plain = _plain(data, schema, many)
        return _page("API", "", _content(plain, many), plain)

    def represent(self, request: Request, data: Any, schema: Schema | None, many: bool) -> bytes:
        """The full page. Forms only on ``GET``/``HEAD``: the answer to a ``POST`` a client
        asked as HTML shows what was made, and is no place to edit the collection from."""
        site_title = request.site.title
        crumbs, parent = _crumbs(request, site_title)
        plain = _plain(data, schema, many)
        endpoint = request.endpoint
        body = _content(plain, many, _formats(request))
        if endpoint is not None and request.method in SAFE_METHODS:
            body += _query_form(endpoint.query_schema, request) + _forms(endpoint, plain, parent)
        title = f"{_last_segment(request) or site_title} · {site_title}"
        return _page(title, crumbs + _allow(endpoint), body, plain)

    def render_problem(self, problem: dict[str, Any]) -> bytes:
        plain = _plain(problem, None, False)
        heading = f"{plain.get('status', '')} {plain.get('title', 'Error')}".strip()
        detail = plain.get("detail")
        body = f"<section><h1>{_e(heading)}</h1>"
        body += f"<p>{_e(str(detail))}</p>" if detail is not None else ""
        body += _problem_errors(plain.get("errors")) + "</section>"
        body += f'<section><h2>Problem details</h2><pre>{_json_html(plain)}</pre></section>'
        return _page(heading, "", body, plain, script=False)

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        raise errors.UnsupportedMediaType("HTML is not a request body format: send JSON or XML")


# -- the page ---------------------------------------------------------------------------------


def _page(title: str, header: str, body: str, data: Any, script: bool = True) -> bytes:
    """The document: CSP first, so that it governs everything after it."""
    js = f"<script>{_JS}</script>" if script else ""
    header = f"<header>{header}</header>" if header else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex"><link rel="icon" href="data:,">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>{header}"
        f'<main>{body}</main>\n<script type="application/json" id="rk-data">'
        f"{_script_json(data)}</script>{js}</body></html>\n"
    ).encode()


def _plain(data: Any, schema: Schema | None, many: bool) -> Any:
    """The data exactly as the JSON representation has it (dates as text, tuples as lists)."""
    return json.loads(JSONHandler().render(data, schema, many))


def _script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script>`` or ``<!--`` can appear."""
    text = json.dumps(data, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _crumbs(request: Request, site_title: str) -> tuple[str, str]:
    """The breadcrumbs (each ancestor a link) and the parent's path, below ``SCRIPT_NAME``."""
    base = quote(request.script_name, safe="/")
    segments = [s for s in request.path_info.split("/") if s]
    paths = [base + "/" + "/".join(quote(s, safe="") for s in segments[: i + 1])
             for i in range(len(segments))]
    parts = [f'<a href="{_e(base + "/")}">{_e(site_title)}</a>']
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        parts.append(
            f'<span aria-current="page">{_e(segment)}</span>' if last
            else f'<a href="{_e(paths[i])}">{_e(segment)}</a>'
        )
    parent = paths[-2] if len(paths) > 1 else base + "/"
    nav = '<span class="sep">/</span>'.join(parts)
    return f'<nav class="rk-crumbs" aria-label="breadcrumbs">{nav}</nav>', parent


def _last_segment(request: Request) -> str:
    return request.path_info.rstrip("/").rpartition("/")[2]


def _allow(endpoint: Endpoint | None) -> str:
    if endpoint is None:
        return ""
    methods = "".join(f"<code>{_e(m)}</code>" for m in endpoint.allowed)
    return f'<p class="rk-allow" id="rk-allow">Allow: {methods}</p>'


def _formats(request: Request) -> str:
    """Buttons showing the other representations, fetched with their ``Accept``."""
    offers = [t for t in request.site.negotiator.offers if t != "text/html"]
    buttons = "".join(
        f'<button type="button" class="secondary" data-accept="{_e(t)}">{_e(t)}</button> '
        for t in offers
    )
    return f'<p class="rk-note">View as: {buttons}</p><pre id="rk-raw" hidden></pre>'


def _content(data: Any, many: bool, formats: str = "") -> str:
    table = _table(data) if many and isinstance(data, list) else ""
    return (
        f'<section id="rk-representation"><h2>Representation</h2>{formats}'
        f'<pre class="rk-json">{_json_html(data)}</pre></section>{table}'
    )


# -- data as HTML -----------------------------------------------------------------------------


def _is_url(value: str) -> bool:
    return _URL.fullmatch(value) is not None and bool(urlsplit(value).netloc)


def _string_html(value: str, quoted: bool = True) -> str:
    text = _e(json.dumps(value, ensure_ascii=False) if quoted else value)
    if _is_url(value):
        return f'<a class="s" href="{_e(value)}">{text}</a>'
    return f'<span class="s">{text}</span>'


def _json_html(value: Any, depth: int = 0) -> str:
    """Pretty-printed JSON, escaped, with absolute http(s) URL strings as links."""
    pad, end = "  " * (depth + 1), "  " * depth
    if isinstance(value, dict):
        if not value:
            return "{}"
        members = (
            f'{pad}<span class="k">{_e(json.dumps(k, ensure_ascii=False))}</span>: '
            f"{_json_html(v, depth + 1)}"
            for k, v in value.items()
        )
        return "{\n" + ",\n".join(members) + f"\n{end}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(pad + _json_html(v, depth + 1) for v in value) + f"\n{end}]"
    if isinstance(value, str):
        return _string_html(value)
    return f'<span class="n">{_e(json.dumps(value))}</span>'


def _table(items: list[Any]) -> str:
    """A collection's items as rows; the columns are every key, in the order first seen."""
    rows = [item for item in items if isinstance(item, dict)]
    if not rows:
        return ""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return (
        f'<section id="rk-items"><h2>Items <small>({len(items)})</small></h2>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _string_html(value, quoted=False) if _is_url(value) else _e(value)
    if isinstance(value, dict | list):
        return f"<code>{_e(json.dumps(value, ensure_ascii=False))}</code>"
    return _e(json.dumps(value))


def _problem_errors(found: Any) -> str:
    if not isinstance(found, dict) or not found:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(str(key))}</code></td><td>{_e(_messages(value))}</td></tr>"
        for key, value in found.items()
    )
    return f"<table><thead><tr><th>field</th><th>messages</th></tr></thead>{rows}</table>"


def _messages(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


# -- forms ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Control:
    """One form control for a schema field, and how the page's script reads its value.

    ``kind``: string, integer, number, boolean, list, list-number, json, or body (the whole
    body as JSON, for a resource without an input schema).
    """

    key: str
    kind: str
    input_type: str | None  # None: a textarea, or a select when there are choices
    required: bool = False
    nullable: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    hints: tuple[str, ...] = ()
    choices: tuple[Any, ...] | None = None
    default: Any = None


def _controls(schema: Schema | None) -> list[_Control]:
    """A control for every field a client may send; ``dump_only`` fields are the server's."""
    if schema is None:
        return [_Control("", "body", None, hints=("the request body, as JSON",))]
    return [_control(name, f) for name, f in schema.load_fields.items()]


def _control(name: str, f: fields.Field) -> _Control:
    kind, input_type, hints = _kind(f)
    choices = _choices(f)
    if choices is not None:
        input_type = None
        if kind == "string" and all(_is_number(c) for c in choices):
            kind = "number"
    attrs, limits = _limits(f, kind)
    if isinstance(f, fields.DateTime):
        attrs["placeholder"] = _DATETIME_EXAMPLE
    default = f.load_default if _is_scalar(f.load_default) else None
    return _Control(
        key=f.data_key or name, kind=kind, input_type=input_type, required=f.required,
        nullable=f.allow_none, attrs=attrs, hints=(*hints, *limits), choices=choices,
        default=default,
    )


def _kind(f: fields.Field) -> tuple[str, str | None, tuple[str, ...]]:
    """How a field is entered: (script kind, input type, hints)."""
    if isinstance(f, fields.Boolean):
        return "boolean", "checkbox", ()
    if isinstance(f, fields.Integer):
        return "integer", "number", ()
    if isinstance(f, fields.Number):
        return "number", "number", ()
    if isinstance(f, fields.DateTime):
        aware = " with a UTC offset" if isinstance(f, fields.AwareDateTime) else ""
        return "string", "text", (f"ISO 8601 date and time{aware}, e.g. {_DATETIME_EXAMPLE}",)
    if isinstance(f, fields.Date):
        return "string", "date", ("ISO 8601 date",)
    if isinstance(f, fields.Email):
        return "string", "email", ()
    if isinstance(f, fields.Url):
        return "string", "url", ()
    if isinstance(f, fields.List):
        return _list_kind(f.inner)
    if isinstance(f, fields.Nested | fields.Mapping | fields.Tuple | fields.Raw):
        return "json", None, ("JSON",)
    return "string", "text", ()


def _list_kind(inner: fields.Field) -> tuple[str, str | None, tuple[str, ...]]:
    if isinstance(inner, fields.Nested | fields.Mapping | fields.List | fields.Tuple):
        return "json", None, ("a JSON array",)
    if isinstance(inner, fields.Number) and not isinstance(inner, fields.Boolean):
        return "list-number", "text", ("numbers, comma-separated",)
    return "list", "text", ("comma-separated values",)


def _choices(f: fields.Field) -> tuple[Any, ...] | None:
    if isinstance(f, fields.Enum):
        return tuple(m.value if f.by_value else m.name for m in f.enum)
    for validator in f.validators:
        if isinstance(validator, validate.OneOf):
            return tuple(validator.choices)
    return None


def _limits(f: fields.Field, kind: str) -> tuple[dict[str, str], list[str]]:
    """Input attributes and hints from the field's validators; the server still checks all."""
    attrs: dict[str, str] = {}
    if kind in ("integer", "number"):
        attrs["step"] = "1" if kind == "integer" else "any"
    hints: list[str] = []
    for validator in f.validators:
        if isinstance(validator, validate.Range) and kind in ("integer", "number"):
            hints.append(_range(validator, attrs))
        elif isinstance(validator, validate.Length):
            hints.append(_length(validator, attrs if kind == "string" else {}, kind))
        elif isinstance(validator, validate.Regexp):
            hints.append(f"matching {validator.regex.pattern}")
    return attrs, [h for h in hints if h]


def _range(r: validate.Range, attrs: dict[str, str]) -> str:
    if r.min is not None and r.min_inclusive:
        attrs["min"] = str(r.min)
    if r.max is not None and r.max_inclusive:
        attrs["max"] = str(r.max)
    if r.min is not None and r.max is not None and r.min_inclusive and r.max_inclusive:
        return f"from {r.min} to {r.max}"
    low = "" if r.min is None else f"{'≥' if r.min_inclusive else '>'} {r.min}"
    high = "" if r.max is None else f"{'≤' if r.max_inclusive else '<'} {r.max}"
    return " and ".join(filter(None, (low, high)))


def _length(v: validate.Length, attrs: dict[str, str], kind: str) -> str:
    low, high = (v.equal, v.equal) if v.equal is not None else (v.min, v.max)
    if low is not None:
        attrs["minlength"] = str(low)
    if high is not None:
        attrs["maxlength"] = str(high)
    unit = "characters" if kind == "string" else "items"
    if low == high and low is not None:
        return f"exactly {low} {unit}"
    return f"{low or 0} to {high} {unit}" if high is not None else f"at least {low} {unit}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is not missing and isinstance(value, str | int | float | bool)


def _forms(endpoint: Endpoint, data: Any, parent: str) -> str:
    """A form per unsafe method the resource allows; none for the methods it lacks."""
    controls = _controls(endpoint.input_schema)
    current = data if isinstance(data, dict) else {}
    forms = [
        _form(method, endpoint, controls, current if method != "POST" else None, parent)
        for method in (*_FORM_METHODS, "DELETE")
        if method in endpoint.handlers
    ]
    if not forms:
        return ""
    return (
        '<section id="rk-write"><h2>Write</h2><p class="rk-note">Forms are sent as JSON by '
        "this page's script; lists are entered comma-separated. Empty fields are left out.</p>"
        '<div class="rk-field"><label for="rk-token">Bearer token</label>'
        '<input id="rk-token" type="password" autocomplete="off" placeholder="optional">'
        '<span class="rk-hint">sent as <code>Authorization: Bearer …</code>; kept in this '
        'tab only (sessionStorage)</span></div>'
        f'<div class="rk-forms">{"".join(forms)}</div></section>'
    )


def _form(
    method: str,
    endpoint: Endpoint,
    controls: list[_Control],
    current: dict[str, Any] | None,
    parent: str,
) -> str:
    title, note = _FORM_TITLES[method]
    badge = (
        '<span class="rk-badge">needs credentials</span>'
        if endpoint.authenticators.get(method) else ""
    )
    fields_html = "" if method == "DELETE" else "".join(
        _control_html(c, method, i, _initial(c, current)) for i, c in enumerate(controls)
    )
    style = ' class="danger"' if method == "DELETE" else ""
    return (
        f'<form id="rk-form-{method.lower()}" data-method="{method}" '
        f'data-parent="{_e(parent)}"><h3>{title} <small><code>{method}</code></small>{badge}'
        f'</h3><p class="rk-note">{note}</p>{fields_html}'
        f'<button type="submit"{style}>{method}</button>'
        '<div class="rk-problem" role="alert" hidden></div></form>'
    )


def _initial(control: _Control, current: dict[str, Any] | None) -> Any:
    """The current value (PUT, PATCH), or the field's default (POST)."""
    if current is None:
        return control.default
    return current if control.kind == "body" else current.get(control.key)


def _control_html(control: _Control, method: str, index: int, value: Any) -> str:
    ident = f"rk-{method.lower()}-{index}"
    attrs = {"id": ident, "name": control.key, "data-key": control.key,
             "data-kind": control.kind, **control.attrs}
    if control.nullable:
        attrs["data-nullable"] = ""
    enforce = method != "PATCH" and control.kind not in ("boolean", "body")
    if control.required and enforce:
        attrs["required"] = ""
    marker = '<abbr class="req" title="required">*</abbr>' if control.required else ""
    label = control.key or "body"
    hints = "".join(f'<span class="rk-hint">{_e(h)}</span>' for h in control.hints)
    return (
        f'<div class="rk-field"><label for="{ident}">{_e(label)}{marker}</label>'
        f"{_widget(control, attrs, value)}{hints}"
        '<span class="rk-error" aria-live="polite"></span></div>'
    )


def _widget(control: _Control, attrs: dict[str, str], value: Any) -> str:
    if control.choices is not None:
        return _select(control, attrs, value)
    if control.input_type is None:
        text = "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)
        # a newline first: the HTML parser drops one leading newline of a textarea's content
        return f"<textarea {_attrs(attrs)}>\n{_e(text)}</textarea>"
    attrs["type"] = control.input_type
    if control.kind == "boolean":
        if value is True:
            attrs["checked"] = ""
    else:
        attrs["value"] = _text_value(control, value)
    return f"<input {_attrs(attrs)}>"


def _select(control: _Control, attrs: dict[str, str], value: Any) -> str:
    options = [] if control.required else ['<option value=""></option>']
    for choice in control.choices or ():
        selected = " selected" if value is not None and str(value) == str(choice) else ""
        options.append(f'<option value="{_e(str(choice))}"{selected}>{_e(str(choice))}</option>')
    return f"<select {_attrs(attrs)}>{''.join(options)}</select>"


def _text_value(control: _Control, value: Any) -> str:
    if value is None:
        return ""
    if control.kind in ("list", "list-number") and isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _attrs(attrs: Mapping[str, str]) -> str:
    return " ".join(f'{name}="{_e(value)}"' for name, value in attrs.items())


def _query_form(schema: Schema | None, request: Request) -> str:
    """A ``GET`` form for the query parameters (filters, pages), filled from the current URL."""
    if schema is None:
        return ""
    controls = [c for c in _controls(schema) if c.kind not in ("json", "body")]
    if not controls:
        return ""
    params = request.query_params  # a query string that is not UTF-8 is a 400, as everywhere
    widgets = "".join(
        _control_html(_optional(c), "GET", i, _query_value(c, params.getall(c.key)))
        for i, c in enumerate(controls)
    )
    return (
        '<section><h2>Query</h2><form id="rk-query">'
        f'{widgets}<button type="submit" class="secondary">GET</button></form></section>'
    )


def _optional(control: _Control) -> _Control:
    """A query control: never required, and its default is the server's to apply."""
    return _Control(control.key, control.kind, control.input_type, attrs=control.attrs,
                    hints=control.hints, choices=control.choices)


def _query_value(control: _Control, values: Iterable[str]) -> Any:
    values = list(values)
    if control.kind == "boolean":
        return bool(values) and values[-1].lower() in ("1", "true", "on", "yes")
    if control.kind in ("list", "list-number"):
        return values or None
    return values[-1] if values else None
