"""The database API in Django REST Framework: a ``ModelViewSet`` over a Django model of the
same table, on Django's SQLite backend (served by `benchmarks.apps.drf_app`).

DRF has no entity tags, so the ``ETag``/``If-Match`` part is hand-written in the viewset, the
compare-and-set as one ``UPDATE ... WHERE version = ?`` (``QuerySet.update``). Filtering is by
hand too (django-filter is a separate package); sorting is DRF's ``OrderingFilter`` under the
name ``sort``; the page is DRF's ``LimitOffsetPagination`` answering a bare list, as the others.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, QuerySet
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from . import LIST_LIMIT, etag, now

__all__ = ["NoteViewSet"]

_BOOLEANS = {"true": True, "false": False}


class Note(models.Model):
    title = models.CharField(max_length=200, unique=True)
    done = models.BooleanField(default=False)
    version = models.IntegerField(default=1)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        app_label = "notes"
        db_table = "notes"
        managed = False


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ("id", "title", "done", "version", "updated_at")
        read_only_fields = ("version", "updated_at")


class Sort(OrderingFilter):
    ordering_param = "sort"
    ordering_fields = ("id", "title", "updated_at")

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        """The client's order, ties broken by the primary key in the same direction."""
        ordering = super().get_ordering(request, queryset, view) or ["id"]
        return [*ordering, "-id" if ordering[0].startswith("-") else "id"]


class Page(LimitOffsetPagination):
    default_limit = LIST_LIMIT

    def get_paginated_response(self, data: Any) -> Response:
        return Response(data)


class NoteViewSet(viewsets.ModelViewSet):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer
    filter_backends = [Sort]
    pagination_class = Page
    http_method_names = ["get", "post", "put", "head"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        done = self.request.query_params.get("done")
        if done is None:
            return queryset
        if done not in _BOOLEANS:
            raise ValidationError({"done": ["must be true or false"]})
        return queryset.filter(done=_BOOLEANS[done])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        note = self.get_object()
        return Response(self.get_serializer(note).data, headers={"ETag": etag(note.version)})

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = request.headers.get("If-Match")
        if given is None:
            return Response({"detail": "If-Match is required"}, status=428)
        serializer = self.get_serializer(self.get_object(), data=request.data)
        serializer.is_valid(raise_exception=True)
        version = given.strip('"')
        changed = Note.objects.filter(
            pk=kwargs["pk"], version=int(version) if version.isdigit() else -1
        ).update(**serializer.validated_data, version=F("version") + 1, updated_at=now())
        if not changed:
            return Response({"detail": "the note has changed"},
                            status=status.HTTP_412_PRECONDITION_FAILED)
        note = Note.objects.filter(pk=kwargs["pk"]).first()
        if note is None:
            raise NotFound()
        return Response(self.get_serializer(note).data, headers={"ETag": etag(note.version)})

    def get_success_headers(self, data: Any) -> dict[str, str]:
        return {"Location": self.request.build_absolute_uri(f"/notes/{data['id']}")}

