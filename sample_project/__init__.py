"""sample_project: a weather-station API declared on `resourcekit.sql`, with no SQL of its own,
storing its data in SQLite (or PostgreSQL with ``DATABASE_URL``).

``create_site(path)`` returns the WSGI application; ``python -m sample_project`` serves it with
waitress on ``HOST``:``PORT`` (default 127.0.0.1:8080), with the database at ``SAMPLE_DB``
(default ``sample.db`` in the working folder).

Routes: ``/`` (links), ``/stations`` (paginated, ``?country=``), ``/stations/{id}`` (GET, PUT,
PATCH, DELETE), ``/stations/{id}/observations`` (newest first, ``?since=&until=``),
``/stations/{id}/observations/{obs_id}`` and ``/stations/{id}/weather`` (the latest observation).
Both collections take ``sort``, ``fields``, ``cursor`` and range filters (``name[gte]=``);
observations ``expand=station``. Every one speaks JSON and XML both ways.
"""

from .app import create_site

__all__ = ["create_site"]
