"""A small site with three API versions, for the versioning tests (contract section 9).

- ``2026-11-23``: the first; deprecated, with a sunset; the default for requests naming none.
- ``2027-01-15``: observations nest their wind (a pair of functions), and ``/tags`` appears.
- ``2027-03-01``: notes call their ``name`` a ``title`` and nest their ``color`` in ``style``
  (``renamed``, one a dotted path).

The resource code knows only the newest shapes. `build()` makes a fresh site with its own store;
``site`` is one, for the command line.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from marshmallow import Schema, fields, validate

from resourcekit import Created, Page, Resource, Site, errors
from resourcekit.versioning import Change, Versions

FIRST, WIND, TITLE = "2026-11-23", "2027-01-15", "2027-03-01"
SUNSET = dt.datetime(2027, 6, 30, tzinfo=dt.UTC)
CHANGELOG = "https://example.org/api/changes"


class WindSchema(Schema):
    speed_ms = fields.Float(validate=validate.Range(min=0))
    direction_deg = fields.Float(validate=validate.Range(min=0, max=360))


class ObservationSchema(Schema):
    id = fields.Int(dump_only=True)
    temperature_c = fields.Float(required=True, validate=validate.Range(min=-90, max=60))
    wind = fields.Nested(WindSchema, allow_none=True, load_default=None)


class StyleSchema(Schema):
    color = fields.Str(validate=validate.OneOf(["red", "blue"]))


class NoteSchema(Schema):
    id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    style = fields.Nested(StyleSchema, load_default=dict)
    tags = fields.List(fields.Str(), load_default=list)


_FLAT = {"wind_speed_ms": "speed_ms", "wind_direction_deg": "direction_deg"}


def nest_wind(data: Any, request: Any) -> Any:
    """A body of 2026-11-23 (flat wind) as 2027-01-15's (nested)."""
    if "wind" in data:  # not a member of this version's observations
        raise errors.UnprocessableContent(
            "the body does not match the schema", errors={"wind": ["Unknown field."]}
        )
    wind = {new: data.pop(old) for old, new in _FLAT.items() if old in data}
    if wind:
        data["wind"] = wind
    return data


def flatten_wind(data: Any, request: Any) -> Any:
    """A representation of 2027-01-15 (nested wind) as 2026-11-23's (flat)."""
    wind = data.pop("wind", None) or {}
    for old, new in _FLAT.items():
        data[old] = wind.get(new)
    return data


def versions(**options: Any) -> Versions:
    return Versions(
        FIRST,
        Change(WIND, "Observations nest their wind.", schema=ObservationSchema,
               upgrade=nest_wind, downgrade=flatten_wind),
        Change(TITLE, "Notes call their name a title, and nest their color in a style.",
               schema=NoteSchema, renamed={"name": "title", "color": "style.color"}),
        **{"default": FIRST, "deprecated": {FIRST: SUNSET}, "deprecation_link": CHANGELOG,
           **options},
    )


def build(**options: Any) -> Site:
    """The site; ``site.observations`` and ``site.notes`` are its stores."""
    observations: dict[int, dict[str, Any]] = {}
    notes: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)
    site = Site(title="Versioned", docs=True, versions=versions(**options))
    site.observations = observations  # type: ignore[attr-defined]
    site.notes = notes  # type: ignore[attr-defined]

    @site.route("/observations")
    class Observations(Resource):
        schema = ObservationSchema
        idempotent = True  # a retry at another version is another request

        def get(self, request: Any) -> Page:
            items = sorted(observations.values(), key=lambda o: o["id"])
            return Page(items, limit=100, total=len(items))

        def post(self, request: Any) -> Created:
            observation = {"id": next(ids), **request.validated}
            observations[observation["id"]] = observation
            location = request.url_for(Observation, obs_id=observation["id"])
            return Created(observation, location=location)

    @site.route("/observations/{obs_id:int}")
    class Observation(Resource):
        schema = ObservationSchema

        def etag(self, request: Any, obs_id: int) -> str:
            return f"o{obs_id}-{hash(repr(self._find(obs_id))) & 0xFFFFFF:x}"

        def get(self, request: Any, obs_id: int) -> dict[str, Any]:
            return self._find(obs_id)

        def put(self, request: Any, obs_id: int) -> dict[str, Any]:
            self._find(obs_id)
            observations[obs_id] = {"id": obs_id, **request.validated}
            return observations[obs_id]

        def patch(self, request: Any, obs_id: int) -> dict[str, Any]:
            observation = self._find(obs_id)
            observation.update(request.validated)
            return observation

        @staticmethod
        def _find(obs_id: int) -> dict[str, Any]:
            if obs_id not in observations:
                raise errors.NotFound(f"no observation {obs_id}")
            return observations[obs_id]

    @site.route("/notes")
    class Notes(Resource):
        schema = NoteSchema

        def get(self, request: Any) -> list[dict[str, Any]]:
            return list(notes.values())

        def post(self, request: Any) -> Created:
            note = {"id": next(ids), **request.validated}
            notes[note["id"]] = note
            return Created(note, location=request.url_for(Note, note_id=note["id"]))

    @site.route("/notes/{note_id:int}")
    class Note(Resource):
        schema = NoteSchema

        def get(self, request: Any, note_id: int) -> dict[str, Any]:
            if note_id not in notes:
                raise errors.NotFound(f"no note {note_id}")
            return notes[note_id]

    @site.route("/tags")
    class Tags(Resource):
        since = WIND

        def get(self, request: Any) -> dict[str, Any]:
            return {"tags": sorted({t for n in notes.values() for t in n["tags"]})}

    @site.route("/status")
    class Status(Resource):
        """No change concerns it: one representation whatever the version."""

        def get(self, request: Any) -> dict[str, Any]:
            return {"ok": True, "version": request.version}

    @site.route("/legacy")
    class Legacy(Resource):
        deprecated = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)
        sunset = dt.datetime(2027, 12, 31, tzinfo=dt.UTC)

        def get(self, request: Any) -> dict[str, Any]:
            return {"legacy": True}

    return site


site = build()
