"""What every database app shares: the ``notes`` table, its seed, the schema and the answers.

Each app gets its own SQLite file (WAL) in a temporary folder, made and seeded here with the
standard library alone, so every framework reads the same rows and none can see another's
writes. The rows the scenarios read are never written by the scenarios that write (those touch
only ``done`` rows of their own), so every answer stays checkable after any number of runs.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from marshmallow import Schema, fields, validate

__all__ = [
    "EDITED_IDS",
    "LIST_LIMIT",
    "NOTE_COUNT",
    "NOTE_SCHEMA",
    "READ_ID",
    "NoteSchema",
    "create_database",
    "etag",
    "listed",
    "now",
    "seed_row",
]

NOTE_COUNT = 1000
READ_ID = 42
"""The row D1 reads; nothing writes it."""
EDITED_IDS = tuple(range(NOTE_COUNT, NOTE_COUNT - 32, -2))
"""The rows D4 updates, one per HTTP connection (all ``done``, so outside D2's list)."""
LIST_LIMIT = 20
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

_TABLE = """
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    title VARCHAR(200) NOT NULL UNIQUE,
    done BOOLEAN NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL
)
"""


class NoteSchema(Schema):
    """One note: the client sends ``title`` and ``done``; the server keeps the rest."""

    id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    done = fields.Bool(load_default=False)
    version = fields.Int(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


NOTE_SCHEMA = NoteSchema()


def now() -> dt.datetime:
    """The ``updated_at`` of a write: UTC, whole microseconds, as every app stores it."""
    return dt.datetime.now(dt.UTC)


def seed_row(note_id: int) -> dict[str, Any]:
    """Row ``note_id`` as seeded: every other note done, one minute apart."""
    return {
        "id": note_id,
        "title": f"note {note_id}",
        "done": note_id % 2 == 0,
        "version": 1,
        "updated_at": _EPOCH + dt.timedelta(minutes=note_id),
    }


def listed() -> list[dict[str, Any]]:
    """D2's answer: the open notes, most recently updated first, one page."""
    rows = [seed_row(i) for i in range(NOTE_COUNT, 0, -1) if i % 2]
    return rows[:LIST_LIMIT]


def etag(version: int) -> str:
    """The strong entity tag the hand-written apps send for a row's ``version``."""
    return f'"{version}"'


def create_database() -> Path:
    """A fresh SQLite file in WAL mode holding the seeded table, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="resourcekit-bench-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "notes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(_TABLE)
        conn.executemany(
            "INSERT INTO notes VALUES (:id, :title, :done, :version, :updated_at)",
            [_stored(seed_row(i)) for i in range(1, NOTE_COUNT + 1)],
        )
    conn.close()
    return path


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """A row as SQLite holds it: naive UTC text, the format SQLAlchemy and Django read."""
    moment = row["updated_at"].astimezone(dt.UTC).replace(tzinfo=None)
    return {**row, "updated_at": moment.isoformat(sep=" ", timespec="microseconds")}
