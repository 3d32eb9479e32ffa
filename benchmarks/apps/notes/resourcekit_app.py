"""The database API in resourcekit: `resourcekit.sql` declared as CONTRACT.md section 8 shows,
no SQL and no handler; the ``version`` column is the ``ETag`` and ``If-Match`` its
compare-and-set. Skipped by the benchmark where resourcekit has no ``resourcekit.sql``."""

from __future__ import annotations

from resourcekit import Site
from resourcekit.sql import Collection, Database, Item

from . import NoteSchema, create_database
from .models import Base, Note

__all__ = ["create_app"]


def create_app() -> Site:
    db = Database(f"sqlite:///{create_database()}", Base.metadata)
    site = Site(title="Notes benchmark", version="1.0.0")

    @site.route("/notes")
    class Notes(Collection):
        database = db
        model = Note
        schema = NoteSchema
        filters = ("done", "title")
        sort = ("id", "title", "updated_at")

    @site.route("/notes/{id:int}")
    class NoteItem(Item):
        database = db
        model = Note
        schema = NoteSchema

    return site
