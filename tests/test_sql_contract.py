"""The example of the contract's section 8, as written there, in JSON and XML, on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from resourcekit import Site
from resourcekit.sql import Collection, Database, Item
from resourcekit.testing import Client


class NoteSchema(Schema):  # section 1
    id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    done = fields.Bool(load_default=False)
    tags = fields.List(fields.Str(), load_default=list)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), unique=True)
    done: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)                 # ETag, If-Match
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))  # Last-Modified


def contract_site(db: Database) -> Site:
    site = Site(title="Notes")

    @site.route("/notes")
    class Notes(Collection):
        database = db
        model = Note
        schema = NoteSchema                 # a marshmallow schema, as everywhere
        filters = ("done", "title")
        sort = ("id", "title", "updated_at")

    @site.route("/notes/{id:int}")
    class NoteItem(Item):
        database = db
        model = Note
        schema = NoteSchema

    return site


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notes.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database("contract")
        url = url.replace("postgresql://", "postgresql+psycopg://")
    db = Database(url, Base.metadata)
    db.create_all()
    try:
        yield Client(contract_site(db))
    finally:
        db.dispose()


def test_the_contract_example_in_json(client: Client) -> None:
    created = client.post("/notes", json={"title": "Buy milk", "tags": ["home"]})
    assert created.status_code == 201, created.text
    assert created.json == {"id": 1, "title": "Buy milk", "done": False}  # tags: no column
    assert created.headers["Location"] == "http://localhost/notes/1"
    tag = created.headers["ETag"]
    assert tag == '"1"' and "Last-Modified" in created.headers
    assert client.get("/notes").json == [created.json]
    assert client.get("/notes?done=false&sort=-title").json == [created.json]
    replaced = client.put("/notes/1", json={"title": "Buy oat milk"}, headers={"If-Match": tag})
    assert replaced.status_code == 200 and replaced.headers["ETag"] == '"2"'
    stale = client.patch("/notes/1", json={"done": True}, headers={"If-Match": tag})
    assert stale.status_code == 412
    merged = client.patch("/notes/1", data=b'{"done": true}',
                          headers={"Content-Type": "application/merge-patch+json"})
    assert merged.json == {"id": 1, "title": "Buy oat milk", "done": True}
    assert client.post("/notes", json={"title": "Buy oat milk"}).status_code == 409
    assert client.delete("/notes/1").status_code == 204
    assert client.get("/notes/1").status_code == 404


def test_the_contract_example_in_xml(client: Client) -> None:
    xml = {"Content-Type": "application/xml", "Accept": "application/xml"}
    created = client.post("/notes", data=b"<note><title>Call Anna</title><done>true</done></note>",
                          headers=xml)
    assert created.status_code == 201, created.text
    note = ET.fromstring(created.body)
    assert (note.findtext("title"), note.findtext("done")) == ("Call Anna", "true")
    assert client.get("/notes/1").json == {"id": 1, "title": "Call Anna", "done": True}
    changed = client.patch("/notes/1", data=b"<note><done>false</done></note>", headers=xml)
    assert ET.fromstring(changed.body).findtext("done") == "false"
    listed = ET.fromstring(client.get("/notes", headers={"Accept": "application/xml"}).body)
    assert [n.findtext("title") for n in listed] == ["Call Anna"]
    bad = client.get("/notes?sort=done", headers={"Accept": "application/xml"})
    assert bad.status_code == 400
    assert bad.headers["Content-Type"].startswith("application/problem+xml")
