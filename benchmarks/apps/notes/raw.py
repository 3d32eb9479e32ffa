"""The database baseline: a hand-written WSGI app with hand-written ``sqlite3`` queries.

One connection per thread, kept open; the shared marshmallow schema loads and dumps. Every
other database column is read as a multiple of this one.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from marshmallow import ValidationError

from . import LIST_LIMIT, NOTE_SCHEMA, create_database, etag, now

__all__ = ["create_app"]

Reply = tuple[int, list[tuple[str, str]], bytes]
_STATUS = {
    200: "200 OK",
    201: "201 Created",
    400: "400 Bad Request",
    404: "404 Not Found",
    409: "409 Conflict",
    412: "412 Precondition Failed",
    422: "422 Unprocessable Content",
    428: "428 Precondition Required",
}
_JSON = ("Content-Type", "application/json")
_COLUMNS = "id, title, done, version, updated_at"
_SORTS = {"id": "id", "title": "title", "updated_at": "updated_at"}
_BOOLEANS = {"true": 1, "false": 0}


def _json(status: int, data: Any, *headers: tuple[str, str]) -> Reply:
    return status, [_JSON, *headers], json.dumps(data).encode()


def _note(row: sqlite3.Row) -> dict[str, Any]:
    moment = dt.datetime.fromisoformat(row["updated_at"]).replace(tzinfo=dt.UTC)
    return {**dict(row), "done": bool(row["done"]), "updated_at": moment}


def _stamp() -> str:
    return now().replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class Notes:
    """The queries, on this thread's connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = sqlite3.connect(self.path, isolation_level=None)
            conn.row_factory = sqlite3.Row
        return conn

    def one(self, note_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            f"SELECT {_COLUMNS} FROM notes WHERE id = ?", (note_id,)
        ).fetchone()
        return row

    def get(self, environ: dict[str, Any], note_id: int) -> Reply:
        row = self.one(note_id)
        if row is None:
            return _json(404, {"error": "not found"})
        return _json(200, NOTE_SCHEMA.dump(_note(row)), ("ETag", etag(row["version"])))

    def list(self, environ: dict[str, Any]) -> Reply:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        where, params = "", []
        if "done" in query:
            if query["done"][0] not in _BOOLEANS:
                return _json(400, {"error": "done must be true or false"})
            where, params = "WHERE done = ?", [_BOOLEANS[query["done"][0]]]
        sort = query.get("sort", ["id"])[0]
        column = _SORTS.get(sort.removeprefix("-"))
        if column is None:
            return _json(400, {"error": f"cannot sort by {sort}"})
        order = f"{column} DESC, id DESC" if sort.startswith("-") else f"{column}, id"
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM notes {where} ORDER BY {order} LIMIT {LIST_LIMIT}", params
        ).fetchall()
        return _json(200, NOTE_SCHEMA.dump([_note(row) for row in rows], many=True))

    def create(self, environ: dict[str, Any]) -> Reply:
        try:
            data = NOTE_SCHEMA.load(_body(environ))
        except ValueError:
            return _json(400, {"error": "malformed JSON"})
        except ValidationError as exc:
            return _json(422, {"errors": exc.messages})
        try:
            row = self.db.execute(
                f"INSERT INTO notes (title, done, updated_at) VALUES (?, ?, ?) "
                f"RETURNING {_COLUMNS}",
                (data["title"], data["done"], _stamp()),
            ).fetchone()
        except sqlite3.IntegrityError:
            return _json(409, {"errors": {"title": ["already taken"]}})
        location = f"{_base_url(environ)}/notes/{row['id']}"
        return _json(201, NOTE_SCHEMA.dump(_note(row)), ("Location", location))

    def replace(self, environ: dict[str, Any], note_id: int) -> Reply:
        given = environ.get("HTTP_IF_MATCH")
        if given is None:
            return _json(428, {"error": "If-Match is required"})
        try:
            data = NOTE_SCHEMA.load(_body(environ))
        except ValueError:
            return _json(400, {"error": "malformed JSON"})
        except ValidationError as exc:
            return _json(422, {"errors": exc.messages})
        version = given.strip('"')
        row = self.db.execute(
            f"UPDATE notes SET title = ?, done = ?, version = version + 1, updated_at = ? "
            f"WHERE id = ? AND version = ? RETURNING {_COLUMNS}",
            (data["title"], data["done"], _stamp(), note_id, version if version.isdigit() else -1),
        ).fetchone()
        if row is None:
            if self.one(note_id) is None:
                return _json(404, {"error": "not found"})
            return _json(412, {"error": "the note has changed"})
        return _json(200, NOTE_SCHEMA.dump(_note(row)), ("ETag", etag(row["version"])))


def _body(environ: dict[str, Any]) -> Any:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return json.loads(environ["wsgi.input"].read(length))


def _base_url(environ: dict[str, Any]) -> str:
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{environ['wsgi.url_scheme']}://{host}{environ.get('SCRIPT_NAME', '')}"


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_app() -> WSGIApp:
    notes = Notes(create_database())

    def route(environ: dict[str, Any]) -> Reply:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO") or "/"
        if path == "/notes":
            if method == "GET":
                return notes.list(environ)
            if method == "POST":
                return notes.create(environ)
        elif path.startswith("/notes/") and path[7:].isdigit():
            if method == "GET":
                return notes.get(environ, int(path[7:]))
            if method == "PUT":
                return notes.replace(environ, int(path[7:]))
        return _json(404, {"error": "not found"})

    def application(environ: dict[str, Any], start_response: Callable[..., Any]
                    ) -> Iterable[bytes]:
        status, headers, body = route(environ)
        headers.append(("Content-Length", str(len(body))))
        start_response(_STATUS[status], headers)
        return [body]

    return application
