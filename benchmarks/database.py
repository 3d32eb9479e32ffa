"""The database scenarios D1-D4: a ``notes`` table on SQLite, read, listed, created and updated.

Checked like the others before anything is timed, and more: what a write answers is read back,
so a row must really be in the table and a version must really have advanced. The writes never
repeat a request (see `Steps`): every POST sends a new title (the column is unique), every PUT
the ``If-Match`` of the tag its previous answer gave, so the compare-and-set succeeds each time
and the version moves each time, run after run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .apps import notes
from .http import lua_string
from .scenarios import (
    CheckFailed,
    Guard,
    Probe,
    Reply,
    Scenario,
    Send,
    _expect,
    _media_type,
    _status,
)

__all__ = ["DATABASE_SCENARIOS", "Edits", "Titles"]

_JSON = ("Accept", "application/json")
_SEND_JSON = ("Content-Type", "application/json")
_WRITTEN_AFTER = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
"""Later than every seeded ``updated_at``: a write's stamp must be."""
_CREATE_BODY = '{"title": "bench %s", "done": true}'
"""Created notes are done, so they never enter D2's list of open notes."""


def _update_body(note_id: int) -> bytes:
    return json.dumps({"title": f"note {note_id}", "done": True}).encode()


# -- checks -----------------------------------------------------------------------------------


def _instant(value: Any) -> dt.datetime:
    """An ``updated_at`` as a moment; a naive one is UTC (SQLite keeps no offset, and SQLAlchemy
    reads its dates back naive), ``Z`` and ``+00:00`` are the same."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise CheckFailed(f"updated_at {value!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _json(reply: Reply) -> Any:
    _media_type(reply, "application/json")
    try:
        return json.loads(reply.body)
    except ValueError as exc:
        raise CheckFailed(f"body is not JSON ({exc}): {reply.body[:200]!r}") from None


def _same_note(actual: Any, expected: Mapping[str, Any]) -> None:
    """Every member equal, ``updated_at`` as a moment; a written note's only after the seed."""
    _expect(isinstance(actual, dict) and set(actual) == set(expected),
            f"note {actual!r}, expected the members {sorted(expected)}")
    for name, value in expected.items():
        if name == "updated_at":
            moment = _instant(actual[name])
            ok = moment > _WRITTEN_AFTER if value is None else moment == value
            _expect(ok, f"updated_at {actual[name]!r}, expected {value or 'a fresh stamp'}")
        else:
            _expect(actual[name] == value, f"{name} {actual[name]!r}, expected {value!r}")


def _strong_tag(reply: Reply) -> str:
    tag = reply.headers.get("etag", "")
    _expect(tag.startswith('"') and tag.endswith('"') and len(tag) > 2,
            f"ETag {tag!r}, expected a strong entity tag")
    return tag


def check_read(reply: Reply) -> None:
    _status(reply, 200)
    _same_note(_json(reply), notes.seed_row(notes.READ_ID))
    _strong_tag(reply)


def check_list(reply: Reply) -> None:
    _status(reply, 200)
    body = _json(reply)
    expected = notes.listed()
    _expect(isinstance(body, list) and len(body) == len(expected),
            f"expected a list of {len(expected)} notes: {reply.body[:200]!r}")
    for actual, row in zip(body, expected, strict=True):
        _same_note(actual, row)


# -- the writes: sequences of requests --------------------------------------------------------


class Titles:
    """D3: POSTs of notes titled from this process, a clock reading and a counter, so no run
    collides with an earlier one on the unique ``title``."""

    per_connection = False

    def __init__(self, send: Send, connection: int) -> None:
        self.prefix = f"{os.getpid()}.{time.time_ns()}.{connection}"
        self.count = itertools.count(1)
        self.title = ""
        self.failures = 0

    def body(self) -> bytes:
        number = f"{self.prefix}.{next(self.count)}"
        self.title = f"bench {number}"
        return (_CREATE_BODY % number).encode()

    def probe(self) -> Probe:
        return Probe("POST", "/notes", headers=(_JSON, _SEND_JSON), body=self.body())

    def answered(self, status: int, headers: Mapping[str, str]) -> None:
        self.failures += status != 201

    def check(self, reply: Reply, send: Send) -> None:
        created = _json(reply)
        _expect(isinstance(created, dict) and isinstance(created.get("id"), int),
                f"no id in {reply.body[:200]!r}")
        _same_note(created, {"id": created["id"], "title": self.title, "done": True,
                             "version": 1, "updated_at": None})
        location = reply.headers.get("location", "")
        _expect(location.startswith("http") and location.endswith(f"/notes/{created['id']}"),
                f"Location {location!r}, expected an absolute URL of /notes/{created['id']}")
        stored = send(Probe("GET", urlsplit(location).path, headers=(_JSON,)))
        _expect(stored.status == 200, f"the created note is not there: GET {location} answered "
                                      f"{stored.status}")
        _same_note(_json(stored), {**created, "updated_at": _instant(created["updated_at"])})

    def prepare(self, environ: dict[str, Any]) -> bytes:
        body = self.body()
        environ["CONTENT_LENGTH"] = str(len(body))
        return body

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        self.failures += not status.startswith("201")
        return _discard

    @staticmethod
    def lua(prefix: str) -> str:
        """wrk's request function: the same bodies, numbered by one Lua counter per run."""
        left, right = (lua_string(part) for part in _CREATE_BODY.split("%s"))
        title = f"{lua_string(prefix)} .. '.' .. count"
        return (f"local count = 0\nfunction request()\n  count = count + 1\n"
                f"  return wrk.format(nil, nil, nil, {left} .. {title} .. {right})\nend\n")


class Edits:
    """D4: PUTs of one note, each with the ``If-Match`` of the tag the previous answer gave; the
    first tag is read with a GET. Connection N edits its own note (`notes.EDITED_IDS`), so
    concurrent connections never race each other into a 412."""

    per_connection = True

    def __init__(self, send: Send, connection: int) -> None:
        if connection >= len(notes.EDITED_IDS):
            raise CheckFailed(f"D4 has notes for {len(notes.EDITED_IDS)} connections at most")
        self.note_id = notes.EDITED_IDS[connection]
        self.path = f"/notes/{self.note_id}"
        self.body = _update_body(self.note_id)
        current = send(Probe("GET", self.path, headers=(_JSON,)))
        _status(current, 200)
        self.tag = _strong_tag(current)
        self.version = _json(current)["version"]
        self.failures = 0

    def probe(self, tag: str | None = None) -> Probe:
        return Probe("PUT", self.path, headers=(_JSON, _SEND_JSON, ("If-Match", tag or self.tag)),
                     body=self.body)

    def answered(self, status: int, headers: Mapping[str, str]) -> None:
        if status == 200:
            self.tag = headers.get("etag", "")
        else:
            self.failures += 1

    def check(self, reply: Reply, send: Send) -> None:
        old_tag, version = self.tag, self.version + 1
        _same_note(_json(reply), {"id": self.note_id, "title": f"note {self.note_id}",
                                  "done": True, "version": version, "updated_at": None})
        tag = _strong_tag(reply)
        _expect(tag != old_tag, f"the ETag {tag} did not change with the version")
        stored = send(Probe("GET", self.path, headers=(_JSON,)))
        _status(stored, 200)
        _expect(_json(stored)["version"] == version and stored.headers.get("etag") == tag,
                f"the table was not updated: GET {self.path} gives version "
                f"{_json(stored)['version']}, ETag {stored.headers.get('etag')}")
        stale = send(self.probe(old_tag))
        _expect(stale.status == 412, f"a stale If-Match answered {stale.status}, expected 412")
        self.tag, self.version = tag, version

    def prepare(self, environ: dict[str, Any]) -> bytes:
        environ["HTTP_IF_MATCH"] = self.tag
        return self.body

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if status.startswith("200"):
            for name, value in headers:
                if name.lower() == "etag":
                    self.tag = value
        else:
            self.failures += 1
        return _discard

    @staticmethod
    def lua(prefix: str) -> str:
        """wrk, one thread per connection: thread N edits note N, GETs its tag first and
        again after any answer that is not 200 (which wrk counts, voiding the cell). More than
        two GETs a thread (a reconnection re-reads) means the tags were not chained: ``done``
        says so on stderr, which `benchmarks.http` takes as a failure."""
        rows = ", ".join(str(note_id) for note_id in notes.EDITED_IDS)
        return f"""local rows = {{{rows}}}
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("row", rows[#threads])
end
function done(summary, latency, requests)
  local reads = 0
  for _, thread in ipairs(threads) do reads = reads + thread:get("reads") end
  if reads > 2 * #threads then
    io.stderr:write(reads .. " GETs in " .. summary.requests .. " requests: tags not chained\\n")
  end
end
reads = 0
local tag = nil
function request()
  local path = "/notes/" .. row
  if tag == nil then
    reads = reads + 1
    return wrk.format("GET", path, {{["Accept"] = "application/json"}})
  end
  local headers = {{["Accept"] = "application/json", ["Content-Type"] = "application/json",
                   ["If-Match"] = tag}}
  return wrk.format("PUT", path, headers, '{{"title": "note ' .. row .. '", "done": true}}')
end
function response(status, headers, body)
  tag = nil
  if status == 200 then
    for name, value in pairs(headers) do
      if string.lower(name) == "etag" then tag = value end
    end
  end
end
"""


def _discard(data: bytes) -> None:
    """The ``write`` callable of start_response: nothing to write to here."""


# -- the scenarios ----------------------------------------------------------------------------

_READ = Probe("GET", f"/notes/{notes.READ_ID}", headers=(_JSON,))
_LIST = Probe("GET", "/notes", "done=false&sort=-updated_at", headers=(_JSON,))
_CREATE = Probe("POST", "/notes", headers=(_JSON, _SEND_JSON), body=_CREATE_BODY.encode())
_UPDATE = Probe("PUT", f"/notes/{notes.EDITED_IDS[0]}", headers=(_JSON, _SEND_JSON),
                body=_update_body(notes.EDITED_IDS[0]))
_TAKEN = b'{"title": "note 1", "done": true}'


def check_created(reply: Reply) -> None:
    """The part of D3's answer that needs no state; `Titles.check` does the rest."""
    _status(reply, 201)
    _json(reply)


def check_updated(reply: Reply) -> None:
    """The part of D4's answer that needs no state; `Edits.check` does the rest."""
    _status(reply, 200)
    _strong_tag(reply)


DATABASE_SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in (
        Scenario(
            "D1",
            f"GET /notes/{notes.READ_ID} (ETag)",
            _READ,
            check_read,
            guards=(Guard(Probe("GET", "/notes/100000", headers=(_JSON,)), 404,
                          "a note that does not exist is 404"),),
        ),
        Scenario(
            "D2",
            f"GET /notes?{_LIST.query}",
            _LIST,
            check_list,
            guards=(Guard(Probe("GET", "/notes", "done=maybe", headers=(_JSON,)), 400,
                          "a filter value that is not a boolean is refused"),),
        ),
        Scenario(
            "D3",
            "POST /notes",
            _CREATE,
            check_created,
            steps=Titles,
            guards=(
                # DRF's UniqueValidator answers 400 where the others say 409.
                Guard(Probe("POST", "/notes", headers=_CREATE.headers, body=_TAKEN), (409, 400),
                      "a title already taken is refused"),
                Guard(Probe("POST", "/notes", headers=_CREATE.headers, body=b'{"done": true}'),
                      (422, 400), "a note without a title is refused"),
            ),
        ),
        Scenario(
            "D4",
            f"PUT /notes/{notes.EDITED_IDS[0]}, If-Match",
            _UPDATE,
            check_updated,
            steps=Edits,
        ),
    )
}
