"""The database API in Falcon 4 with hand-written SQLAlchemy 2: an ORM session per request,
the ``If-Match`` compare-and-set as one ``UPDATE ... WHERE version = ?``."""

from __future__ import annotations

from typing import Any

import falcon
import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from . import LIST_LIMIT, NOTE_SCHEMA, create_database, etag
from .models import Note

__all__ = ["create_app"]

_SORTS = {"id": Note.id, "title": Note.title, "updated_at": Note.updated_at}


def _load(req: falcon.Request) -> dict[str, Any]:
    try:
        data: dict[str, Any] = NOTE_SCHEMA.load(req.get_media())
        return data
    except ValidationError as exc:
        raise falcon.HTTPUnprocessableEntity(description=str(exc.messages)) from None


class Notes:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = sa.select(Note)
        if req.has_param("done"):
            query = query.where(Note.done == req.get_param_as_bool("done"))
        sort = req.get_param("sort", default="id")
        column = _SORTS.get(sort.removeprefix("-"))
        if column is None:
            raise falcon.HTTPBadRequest(description=f"cannot sort by {sort}")
        order = (column.desc(), Note.id.desc()) if sort.startswith("-") else (column, Note.id)
        with self.sessions() as session:
            rows = session.scalars(query.order_by(*order).limit(LIST_LIMIT)).all()
            resp.media = NOTE_SCHEMA.dump(rows, many=True)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        note = Note(**_load(req))
        with self.sessions() as session:
            session.add(note)
            try:
                session.commit()
            except sa.exc.IntegrityError:
                raise falcon.HTTPConflict(description="title already taken") from None
            resp.status = falcon.HTTP_201
            resp.location = f"{req.prefix}/notes/{note.id}"
            resp.media = NOTE_SCHEMA.dump(note)


class NoteItem:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def on_get(self, req: falcon.Request, resp: falcon.Response, note_id: int) -> None:
        with self.sessions() as session:
            note = session.get(Note, note_id)
            if note is None:
                raise falcon.HTTPNotFound()
            resp.etag = etag(note.version)
            resp.media = NOTE_SCHEMA.dump(note)

    def on_put(self, req: falcon.Request, resp: falcon.Response, note_id: int) -> None:
        if req.if_match is None:
            raise falcon.HTTPPreconditionRequired(description="If-Match is required")
        data = _load(req)
        given = [tag for tag in req.if_match if tag != "*" and not tag.is_weak and tag.isdigit()]
        with self.sessions() as session:
            note = session.scalars(
                sa.update(Note)
                .where(Note.id == note_id, Note.version.in_([int(tag) for tag in given]))
                .values(**data, version=Note.version + 1)
                .returning(Note)
            ).one_or_none()
            if note is None:
                if session.get(Note, note_id) is None:
                    raise falcon.HTTPNotFound()
                raise falcon.HTTPPreconditionFailed(description="the note has changed")
            session.commit()
            resp.etag = etag(note.version)
            resp.media = NOTE_SCHEMA.dump(note)




def create_app() -> falcon.App[falcon.Request, falcon.Response]:
    engine = sa.create_engine(f"sqlite:///{create_database()}")
    sessions = sessionmaker(engine, expire_on_commit=False)
    app = falcon.App()
    app.add_route("/notes", Notes(sessions))
    app.add_route("/notes/{note_id:int}", NoteItem(sessions))
    return app
