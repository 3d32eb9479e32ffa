"""Both Django REST Framework apps (the API in `drf_views`, the notes in `notes.drf_views`):
Django configured in code, ``settings.configure`` and no project folder.

DRF cannot even be imported before the settings exist, so the views live in modules that only
the URL configuration (`drf_urls`, loaded by Django on the first request) imports.
"""

from __future__ import annotations

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from .notes import create_database

__all__ = ["configure", "create_app"]


def configure() -> None:
    """Settings for both families, once per process (Django allows no second configure): the
    notes database is made here, as Django's ``DATABASES`` must name it before setup."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["localhost", "127.0.0.1"],
        ROOT_URLCONF="benchmarks.apps.drf_urls",
        INSTALLED_APPS=["rest_framework"],
        MIDDLEWARE=[],
        USE_TZ=True,
        TIME_ZONE="UTC",
        # Connections kept open, as raw's and SQLAlchemy's are (Django's default reopens).
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": str(create_database()), "CONN_MAX_AGE": None}},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "UNAUTHENTICATED_USER": None,
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        },
    )
    django.setup()


def create_app() -> WSGIHandler:
    configure()
    return WSGIHandler()
