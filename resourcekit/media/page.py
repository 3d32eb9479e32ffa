"""The browsable API's pages, built by `resourcekit.media.html.HTMLHandler`.

Imported at a site's first page, so a site no browser visits never loads the forms, the links,
the style and script or the regular expressions below. The style and script are the package's
``assets/browsable.css`` and ``assets/browsable.js``, read once, at that import.

Injection defences: every value, key and URL goes through `html.escape`; data for scripts sits in a
``type="application/json"`` element with ``<``, ``>`` and ``&`` escaped; the script writes server
answers with ``textContent`` only; and a Content-Security-Policy allows exactly the page's own
style and script (by hash), so even a missed escape could not run injected code.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from marshmallow import Schema

from ..methods import SAFE_METHODS
from .forms import query_form, write_forms
from .json import JSONHandler
from .links import RouteLinks

if TYPE_CHECKING:
    from ..endpoint import Endpoint
    from ..request import Request

__all__ = ["Pages"]

_e = html.escape  # quote=True: safe in text and in double-quoted attributes

_URL = re.compile(r"https?://[^\s\"'<>`]+", re.IGNORECASE)
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
"""The shape of an ISO 8601 date or timestamp, which a table shows on one line."""

_ASSETS = files("resourcekit.media").joinpath("assets")
_CSS = _ASSETS.joinpath("browsable.css").read_text(encoding="utf-8")
_JS = _ASSETS.joinpath("browsable.js").read_text(encoding="utf-8")


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


_CSP = (
    f"default-src 'none'; style-src {_sha256(_CSS)}; script-src {_sha256(_JS)}; "
    "connect-src 'self'; img-src data:; form-action 'self'; base-uri 'none'"
)
"""Only the page's own style and script run; the page can reach no other host."""



class Pages:
    """The pages `HTMLHandler` answers with, and the headers it sends with them."""

    response_headers = (("Content-Security-Policy", f"{_CSP}; frame-ancestors 'none'"),)
    """The policy as a response header, which alone can say who may frame the page (a
    ``<meta>`` policy cannot carry ``frame-ancestors``): nobody, so no other site can overlay
    its forms."""

    @staticmethod
    def render(data: Any, schema: Schema | None, many: bool) -> bytes:
        """The page without a request: the representation, no breadcrumbs, no forms."""
        plain = _plain(data, schema, many)
        return _page("API", "", _content(plain, many), plain)

    @staticmethod
    def represent(request: Request, data: Any, schema: Schema | None, many: bool) -> bytes:
        """The full page. Forms only on ``GET``/``HEAD``: the answer to a ``POST`` a client
        asked as HTML shows what was made, and is no place to edit the collection from."""
        site_title = request.site.title
        crumbs, parent = _crumbs(request, site_title)
        plain = _plain(data, schema, many)
        endpoint = request.endpoint
        links = RouteLinks.of(request)
        body = _content(plain, many, _formats(request), links)
        if endpoint is not None and request.method in SAFE_METHODS:
            body += query_form(endpoint.query_schema, request)
            versions = request.site.versions
            writes = endpoint.input_schema
            if versions is not None and writes is not None:  # the fields as the client names them
                writes = versions.schema_at(writes, request.version)
            body += write_forms(endpoint, plain, parent, writes)
        title = f"{_last_segment(request) or site_title} · {site_title}"
        return _page(title, crumbs + _allow(endpoint) + _links(links), body, plain)

    @staticmethod
    def render_problem(problem: dict[str, Any]) -> bytes:
        plain = _plain(problem, None, False)
        heading = f"{plain.get('status', '')} {plain.get('title', 'Error')}".strip()
        detail = plain.get("detail")
        body = f"<section><h1>{_e(heading)}</h1>"
        body += f"<p>{_e(str(detail))}</p>" if detail is not None else ""
        body += _problem_errors(plain.get("errors")) + "</section>"
        body += f'<section><h2>Problem details</h2><pre>{_json_html(plain)}</pre></section>'
        return _page(heading, "", body, plain, script=False)


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
    path: str = request.path_info
    return path.rstrip("/").rpartition("/")[2]


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


def _links(links: RouteLinks | None) -> str:
    """The resources around this one, each named by its relation and path."""
    found = links.around() if links is not None else []
    if not found:
        return ""
    items = "".join(
        f'<li><span class="rk-rel">{_e(link.rel)}</span> '
        f'<a rel="{_e(link.rel)}" href="{_e(link.href)}">{_e(link.href)}</a></li>'
        for link in found
    )
    return f'<nav class="rk-links" id="rk-links" aria-label="links">Links: <ul>{items}</ul></nav>'


def _content(
    data: Any, many: bool, formats: str = "", links: RouteLinks | None = None
) -> str:
    table = _table(data, links) if many and isinstance(data, list) else ""
    return (
        f'<section id="rk-representation"><h2>Representation</h2>{formats}'
        f'<pre class="rk-json">{_json_html(data)}</pre></section>{table}'
    )


# -- data as HTML -----------------------------------------------------------------------------


def _is_url(value: str) -> bool:
    return _URL.fullmatch(value) is not None and bool(urlsplit(value).netloc)


def _is_iso_time(value: str) -> bool:
    """An ISO 8601 date or timestamp, one that Python reads as one."""
    if _ISO_TIME.fullmatch(value) is None:
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


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


def _table(items: list[Any], links: RouteLinks | None) -> str:
    """A collection's items as rows; the columns are every key, in the order first seen. The
    cell naming an item (its ``id``, say) links to the item's resource where a route has it."""
    rows = [item for item in items if isinstance(item, dict)]
    if not rows:
        return ""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(_row(row, columns, links.item(row) if links else None) for row in rows)
    return (
        f'<section id="rk-items"><h2>Items <small>({len(items)})</small></h2>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def _row(row: dict[str, Any], columns: list[str], link: tuple[str, str] | None) -> str:
    cells = []
    for column in columns:
        if link is not None and column == link[0]:  # a str or int: plain text in the link
            cell = f'<a rel="item" href="{_e(link[1])}">{_e(str(row[column]))}</a>'
        else:
            cell = _cell(row.get(column))
        cells.append(f"<td>{cell}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        if _is_url(value):
            return _string_html(value, quoted=False)
        return f"<time>{_e(value)}</time>" if _is_iso_time(value) else _e(value)
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
