"""The browsable API's forms: a control for each field of a resource's input or query schema.

With its script, the page reads each control by its ``data-kind`` and sends the values as JSON
(see ``assets/browsable.js``). Without it, the create form is a plain HTML form: ``POST``,
urlencoded, or ``multipart/form-data`` where the schema has a `resourcekit.fields.File`, which
the site reads through the same schema (`resourcekit.media.formdata`); HTML forms send no other
method, so the ``PUT``, ``PATCH`` and ``DELETE`` forms need the script (their buttons are
disabled until it runs), rather than a ``_method`` override that would let any form body tunnel
a write past what the method says. A form with a file control is always sent by the browser.
Attributes and hints come from the schema's validators for a person's benefit only: the server
checks everything again.
Hints are what a person can act on, so a regular expression is not one (its validator's own
message is, when it has one), nor is a bound no person types, such as a 64-bit key's maximum.
"""

from __future__ import annotations

import enum
import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, fields, missing, validate

from ..fields import File

if TYPE_CHECKING:
    from ..endpoint import Endpoint
    from ..request import Request

__all__ = ["query_form", "write_forms"]

_e = html.escape  # quote=True: safe in text and in double-quoted attributes

_DATETIME_EXAMPLE = "2024-05-01T12:00:00Z"
_FORM_METHODS = ("POST", "PUT", "PATCH")
_REQUIRING = frozenset({"POST", "PUT"})
"""The methods that send a whole representation; ``PATCH`` is partial, and a query is optional."""
_FORM_TITLES = {
    "POST": ("Create", "creates a new resource from these fields"),
    "PUT": ("Replace", "replaces this resource: what you leave empty takes its default"),
    "PATCH": ("Update", "sends only the fields you change"),
    "DELETE": ("Delete", "deletes this resource"),
}
_LARGEST_TYPED = 2**53
_LISTS = ("list", "list-number")
_LIST_SPARE = 2
"""Empty inputs after a list's items in a write form (at least three inputs in all): a page
without its script cannot add inputs, and a form sends one value per input."""
_LIST_HINTS = {"list": ("a value per field",), "list-number": ("a number per field",)}
"""Beyond this, a bound is a storage limit (``2**63 - 1``), not a number a person enters: it is
also past what a browser's numbers hold exactly."""


@dataclass(frozen=True)
class _Control:
    """One form control for a schema field, and how the page's script reads its value.

    ``kind``: string, integer, number, boolean, list, list-number, json, file, or body (the
    whole body as JSON, for a resource without an input schema).
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


def write_forms(
    endpoint: Endpoint, data: Any, parent: str, input_schema: Schema | None = None
) -> str:
    """A form per unsafe method the resource allows; none for the methods it lacks.

    ``parent`` is where the page goes after a ``DELETE``; ``input_schema`` replaces the
    endpoint's (as an API version names its fields).
    """
    controls = _controls(input_schema or endpoint.input_schema)
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
        "this page's script; a list takes an item per field. Empty fields are left out. "
        "Without JavaScript, Create is sent as an HTML form and the other forms are "
        "disabled.</p>"
        '<div class="rk-field"><label for="rk-token">Bearer token</label>'
        '<input id="rk-token" type="password" autocomplete="off" placeholder="optional">'
        '<span class="rk-hint">sent as <code>Authorization: Bearer …</code>; kept in this '
        'tab only (sessionStorage)</span></div>'
        f'<div class="rk-forms">{"".join(forms)}</div></section>'
    )


def query_form(schema: Schema | None, request: Request) -> str:
    """A ``GET`` form for the query parameters (filters, pages), filled from the current URL.

    Its controls carry no defaults and take no null: leaving one empty leaves the parameter
    out, for the server to apply its default.
    """
    if schema is None:
        return ""
    controls = [replace(c, default=None, nullable=False) for c in _controls(schema)
                if c.kind not in ("json", "body")]
    if not controls:
        return ""
    params = request.query_params  # a query string that is not UTF-8 is a 400, as everywhere
    widgets = "".join(
        _control_html(c, "GET", i, _query_value(c, params.getall(c.key)))
        for i, c in enumerate(controls)
    )
    return (
        '<section><h2>Query</h2><form id="rk-query">'
        f'{widgets}<button type="submit" class="secondary">GET</button></form></section>'
    )


# -- controls from fields ---------------------------------------------------------------------


def _controls(schema: Schema | None) -> list[_Control]:
    """A control for every field a client may send; ``dump_only`` fields are the server's."""
    if schema is None:
        return [_Control("", "body", None, hints=("the request body, as JSON",))]
    return [_control(name, f) for name, f in schema.load_fields.items()]


def _control(name: str, f: fields.Field[Any]) -> _Control:
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


def _kind(f: fields.Field[Any]) -> tuple[str, str | None, tuple[str, ...]]:
    """How a field is entered: (script kind, input type, hints)."""
    if isinstance(f, File):
        accept = ", ".join(f.content_types) if f.content_types else ""
        return "file", "file", (f"a file: {accept}",) if accept else ()
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


def _list_kind(inner: fields.Field[Any]) -> tuple[str, str | None, tuple[str, ...]]:
    if isinstance(inner, fields.Nested | fields.Mapping | fields.List | fields.Tuple):
        return "json", None, ("a JSON array",)
    if isinstance(inner, fields.Number) and not isinstance(inner, fields.Boolean):
        return "list-number", "text", ("numbers, comma-separated",)
    return "list", "text", ("comma-separated values",)


def _choices(f: fields.Field[Any]) -> tuple[Any, ...] | None:
    if isinstance(f, fields.Enum):
        members: type[enum.Enum] = f.enum
        return tuple(m.value if f.by_value else m.name for m in members)
    for validator in f.validators:
        if isinstance(validator, validate.OneOf):
            return tuple(validator.choices)
    return None


def _limits(f: fields.Field[Any], kind: str) -> tuple[dict[str, str], list[str]]:
    """Input attributes and hints from the field's validators."""
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
            hints.append(_pattern_message(validator))
    return attrs, [h for h in hints if h]


def _range(r: validate.Range, attrs: dict[str, str]) -> str:
    low, high = _typed_bound(r.min), _typed_bound(r.max)
    if low is not None and r.min_inclusive:
        attrs["min"] = str(low)
    if high is not None and r.max_inclusive:
        attrs["max"] = str(high)
    if low is not None and high is not None and r.min_inclusive and r.max_inclusive:
        return f"from {low} to {high}"
    above = "" if low is None else f"{'≥' if r.min_inclusive else '>'} {low}"
    below = "" if high is None else f"{'≤' if r.max_inclusive else '<'} {high}"
    return " and ".join(filter(None, (above, below)))


def _typed_bound(bound: Any) -> Any:
    """The bound if a person could type it, else None (the server still enforces it)."""
    if _is_number(bound) and abs(bound) >= _LARGEST_TYPED:
        return None
    return bound


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


def _pattern_message(v: validate.Regexp) -> str:
    """The validator's own words for its pattern; nothing for the default message, which only
    says that there is a pattern, or for a message that quotes it (``{regex}``)."""
    if v.error == v.default_message or "{" in v.error:
        return ""
    return v.error


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is not missing and isinstance(value, str | int | float | bool)


# -- controls as HTML -------------------------------------------------------------------------


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
        f'<form id="rk-form-{method.lower()}" data-method="{method}"{_native(method, controls)} '
        f'data-parent="{_e(parent)}"><h3>{title} <small><code>{method}</code></small>{badge}'
        f'</h3><p class="rk-note">{note}</p>{fields_html}'
        f'<button type="submit"{style}{"" if method == "POST" else " disabled"}>{method}</button>'
        '<div class="rk-problem" role="alert" hidden></div></form>'
    )


def _native(method: str, controls: list[_Control]) -> str:
    """How the browser itself sends the form: only ``POST`` can be (see the module)."""
    if method != "POST":
        return ""
    files = any(c.kind == "file" for c in controls)
    enctype = "multipart/form-data" if files else "application/x-www-form-urlencoded"
    return f' method="post" enctype="{enctype}"'



def _initial(control: _Control, current: dict[str, Any] | None) -> Any:
    """The current value (PUT, PATCH), or the field's default (POST)."""
    if current is None:
        return control.default
    return current if control.kind == "body" else current.get(control.key)


def _control_html(control: _Control, method: str, index: int, value: Any) -> str:
    """A labelled control; marked required only where ``method`` sends the whole resource."""
    ident = f"rk-{method.lower()}-{index}"
    attrs = {"id": ident, "name": control.key, "data-key": control.key,
             "data-kind": control.kind, **control.attrs}
    if control.nullable:
        attrs["data-nullable"] = ""
    required = control.required and method in _REQUIRING
    if required and control.kind not in ("boolean", "body"):  # a checkbox is always sent
        attrs["required"] = ""
    marker = '<abbr class="req" title="required">*</abbr>' if required else ""
    label = control.key or "body"
    hints = control.hints
    if control.kind in _LISTS and method in _FORM_METHODS:  # repeated names make the list
        hints, widget = _LIST_HINTS[control.kind], _list_inputs(attrs, value)
    else:
        widget = _widget(control, attrs, value, required)
    notes = "".join(f'<span class="rk-hint">{_e(h)}</span>' for h in hints)
    return (
        f'<div class="rk-field"><label for="{ident}">{_e(label)}{marker}</label>'
        f"{widget}{notes}"
        '<span class="rk-error" aria-live="polite"></span></div>'
    )


def _list_inputs(attrs: dict[str, str], value: Any) -> str:
    """A text input per item of a list, then `_LIST_SPARE` empty ones; the first carries the
    label's id and ``required``."""
    items = [str(v) for v in value] if isinstance(value, list) else []
    slots = [*items, *[""] * max(_LIST_SPARE, 3 - len(items))]
    inputs = []
    for n, item in enumerate(slots):
        one = {**attrs, "type": "text", "value": item}
        if n:
            one.pop("required", None)
            one.update(id=f"{attrs['id']}-{n}", **{"aria-label": f"{attrs['name']} {n + 1}"})
        inputs.append(f"<input {_attrs(one)}>")
    return f'<span class="rk-list">{"".join(inputs)}</span>'


def _widget(control: _Control, attrs: dict[str, str], value: Any, required: bool) -> str:
    if control.choices is not None:
        return _select(control.choices, attrs, value, required)
    if control.input_type is None:
        text = "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)
        # a newline first: the HTML parser drops one leading newline of a textarea's content
        return f"<textarea {_attrs(attrs)}>\n{_e(text)}</textarea>"
    attrs["type"] = control.input_type
    if control.kind == "boolean":
        if value is True:
            attrs["checked"] = ""
        attrs["value"] = "true"  # what a form sends for a checked box (else "on")
    elif control.kind != "file":  # a file control cannot be filled in
        attrs["value"] = _text_value(control, value)
    return f"<input {_attrs(attrs)}>"


def _select(choices: tuple[Any, ...], attrs: dict[str, str], value: Any, required: bool) -> str:
    options = [] if required else ['<option value=""></option>']
    for choice in choices:
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


def _query_value(control: _Control, values: Iterable[str]) -> Any:
    values = list(values)
    if control.kind == "boolean":
        return bool(values) and values[-1].lower() in ("1", "true", "on", "yes")
    if control.kind in ("list", "list-number"):
        return values or None
    return values[-1] if values else None
