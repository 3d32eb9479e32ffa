"""sample_project: a weather-station API declared on `resourcekit.sql`, with no SQL of its own,
in SQLite (or PostgreSQL); ``python -m sample_project`` serves it (see `sample_project.app`).
"""

from .app import create_site

__all__ = ["create_site"]
