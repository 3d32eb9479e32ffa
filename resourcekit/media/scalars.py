"""Text typed by the field that loads it, for the body formats that carry only text.

XML elements and form values are all text, but a schema may have strict number or boolean fields
that refuse strings, as they should for JSON. Typing the text first, where it spells a number or
boolean as JSON does, lets the same schema load JSON, XML and forms alike. Text that does not
spell one is left as it is, so the schema refuses it (``422``) naming the field.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from marshmallow import fields

from .. import errors

__all__ = ["FORM_BOOLEANS", "JSON_BOOLEANS", "typed"]

JSON_BOOLEANS: Mapping[str, bool] = {"true": True, "false": False}
"""The booleans as JSON spells them: what XML bodies may say."""
FORM_BOOLEANS: Mapping[str, bool] = {**JSON_BOOLEANS, "on": True}
"""What forms may say as well: ``on`` is what a browser sends for a checkbox without a value."""

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def typed(text: str, field: object, booleans: Mapping[str, bool] = JSON_BOOLEANS) -> Any:
    """``text`` as a number or boolean where ``field`` is one and the text spells one (numbers as
    JSON does, booleans as ``booleans`` lists them); else ``text`` unchanged. A `Decimal` field
    keeps its text, which it reads exactly, where a float would round."""
    if isinstance(field, fields.Boolean):
        return booleans.get(text, text)
    if isinstance(field, fields.Number) and _JSON_NUMBER.fullmatch(text):
        if isinstance(field, fields.Integer):
            return _integer(text) if text.lstrip("-").isdigit() else float(text)
        return text if isinstance(field, fields.Decimal) else float(text)
    return text


def _integer(text: str) -> int:
    """``int(text)``, or 400 beyond Python's digit limit for it, as the JSON parser answers."""
    try:
        return int(text)
    except ValueError:
        limit = sys.get_int_max_str_digits()
        raise errors.BadRequest(f"an integer has more than {limit} digits") from None
