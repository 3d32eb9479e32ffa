"""Django's ``ROOT_URLCONF`` for both DRF apps, imported by Django once it is set up."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from .drf_views import Hello, Item, Items
from .notes.drf_views import NoteViewSet

router = SimpleRouter(trailing_slash=False)
router.register("notes", NoteViewSet)

urlpatterns = [
    path("hello", Hello.as_view()),
    path("items", Items.as_view()),
    path("items/<int:item_id>", Item.as_view()),
    *router.urls,
]
