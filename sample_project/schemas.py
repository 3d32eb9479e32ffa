"""The representations of the weather-station API (its newest version), a schema each.

One schema reads JSON and XML (whose reader types number fields' text as JSON would): a number
field takes numbers only, never strings, booleans, NaN or Infinity, in either format.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

__all__ = [
    "ObservationSchema",
    "RootSchema",
    "StationSchema",
    "WeatherSchema",
    "windowed",
]

class Number(fields.Float):
    """A finite number, strictly: ``"45.5"`` is a string, and so a wrong type (422)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _validated(self, value: Any) -> float:
        if isinstance(value, bool | str):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def _optional_number(*validators: validate.Validator, **kwargs: Any) -> Number:
    return Number(load_default=None, allow_none=True, validate=list(validators), **kwargs)


def _example(value: Any) -> dict[str, Any]:  # the value the OpenAPI document shows
    return {"example": value}


def _in_utc_range(value: dt.datetime) -> None:
    """Stored in UTC: a time that leaves the calendar there (year 1 at +01:00) is refused."""
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationError("out of range once converted to UTC") from None


def _timestamp(**kwargs: Any) -> fields.AwareDateTime:
    """An ISO 8601 timestamp with a UTC offset; one without is refused with a message saying so."""
    return fields.AwareDateTime(
        error_messages={
            "invalid_awareness": "must include a UTC offset, e.g. 2024-05-01T12:00:00Z or "
            "2024-05-01T14:00:00+02:00",
            "invalid": "not an ISO 8601 date and time",
        },
        validate=_in_utc_range,
        **kwargs,
    )


# Python's ``$`` also matches before a final newline: ``(?!\n)`` refuses one, and reads the
# same as a JSON Schema (ECMAScript) pattern in the OpenAPI document, where ``\Z`` would not.
_PRINTABLE = validate.Regexp(
    r"^[^\x00-\x1f\x7f]*$(?!\n)", error="must not contain control characters"
)
_COUNTRY = validate.Regexp(
    r"^[A-Z]{2}$(?!\n)",
    error="must be an ISO 3166-1 alpha-2 country code: two capital letters, e.g. FR",
)


class StationSchema(Schema):
    id = fields.Int(dump_only=True, metadata=_example(1))
    name = fields.Str(
        required=True,
        validate=[validate.Length(min=1, max=100), _PRINTABLE],
        metadata=_example("Zugspitze"),
    )
    latitude = Number(
        required=True, validate=validate.Range(min=-90, max=90), metadata=_example(47.4211)
    )
    longitude = Number(
        required=True, validate=validate.Range(min=-180, max=180), metadata=_example(10.9863)
    )
    elevation_m = _optional_number(metadata=_example(2956.0))
    country = fields.Str(required=True, validate=_COUNTRY, metadata=_example("DE"))
    created_at = _timestamp(dump_only=True, metadata=_example("2026-11-02T08:30:00+00:00"))
    updated_at = _timestamp(dump_only=True, metadata=_example("2026-11-20T16:45:12+00:00"))

    class Meta:
        description = "A weather station: where it stands, in WGS 84 degrees and metres."
        xml_name = "station"


class WindSchema(Schema):
    speed_ms = _optional_number(validate.Range(min=0), metadata=_example(12.4))
    direction_deg = _optional_number(validate.Range(min=0, max=360), metadata=_example(270.0))

    class Meta:
        description = "The wind: its speed, and the direction it blows from (degrees from north)."


class ObservationSchema(Schema):
    id = fields.Int(dump_only=True, metadata=_example(1042))
    station_id = fields.Int(dump_only=True, metadata=_example(1))
    observed_at = _timestamp(required=True, metadata=_example("2026-11-23T12:00:00+00:00"))
    temperature_c = Number(
        required=True, validate=validate.Range(min=-90, max=60), metadata=_example(-4.5)
    )
    humidity_pct = _optional_number(validate.Range(min=0, max=100), metadata=_example(87.0))
    pressure_hpa = _optional_number(
        validate.Range(min=800, max=1100), metadata=_example(1012.3)
    )
    wind = fields.Nested(WindSchema, load_default=lambda: WindSchema().load({}))
    created_at = _timestamp(dump_only=True, metadata=_example("2026-11-23T12:00:04+00:00"))
    updated_at = _timestamp(dump_only=True, metadata=_example("2026-11-23T12:00:04+00:00"))

    class Meta:
        description = (
            "One observation at a station: temperature, and what else the station measures."
        )
        xml_name = "observation"


class WeatherSchema(ObservationSchema):
    station_name = fields.Str(dump_only=True, metadata=_example("Zugspitze"))

    class Meta:
        description = "The latest observation of a station, with the station's name."
        xml_name = "weather"


class _LinksSchema(Schema):
    self = fields.Url(dump_only=True, metadata=_example("http://127.0.0.1:8080/"))
    stations = fields.Url(dump_only=True, metadata=_example("http://127.0.0.1:8080/stations"))


class RootSchema(Schema):
    title = fields.Str(dump_only=True, metadata=_example("Weather stations"))
    version = fields.Str(dump_only=True, metadata=_example("1.0.0"))
    description = fields.Str(
        dump_only=True,
        metadata=_example("Weather stations and their observations, in JSON and XML."),
    )
    links = fields.Nested(_LinksSchema, dump_only=True)

    class Meta:
        description = "The API root: what this API is, and where its collections are."
        xml_name = "api"


def windowed(query: Schema) -> Schema:
    """A collection's query schema that refuses a window whose ``since`` is after ``until``."""

    class Windowed(type(query)):  # type: ignore[misc]
        class Meta(type(query).Meta):  # type: ignore[misc]
            description = "`since` must not be after `until`: such a window is refused with `400`."

        @validates_schema
        def _window(self, data: dict[str, Any], **kwargs: Any) -> None:
            since: dt.datetime | None = data.get("alias__since")
            until: dt.datetime | None = data.get("alias__until")
            if since is not None and until is not None and since > until:
                raise ValidationError("must not be before since", field_name="until")

    return Windowed()
