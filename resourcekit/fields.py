"""Marshmallow fields the framework adds: `File`, for a part of a ``multipart/form-data`` body.

A part arrives as an `UploadedFile`: its bytes in a ``SpooledTemporaryFile`` (memory up to a
small threshold, then an unnamed file on disk, removed when closed or collected), its size, and
what the client said about it. The client's file name is hostile text: it is cleaned for display
(`clean_filename`) and never used as a path.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from marshmallow import ValidationError, fields

from . import errors

__all__ = ["File", "UploadedFile", "clean_filename"]

_LONGEST_NAME = 255


@dataclass(frozen=True)
class UploadedFile:
    """An uploaded part: ``file`` is rewound and readable, ``size`` its length in bytes."""

    file: IO[bytes]
    size: int
    content_type: str
    """The part's ``Content-Type`` as the client declared it, lower case, without parameters
    (``application/octet-stream`` when it declared none): a claim, not a check of the bytes."""
    filename: str | None
    """The client's file name, cleaned (`clean_filename`); None when it sent none."""

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def close(self) -> None:
        self.file.close()


def clean_filename(raw: str | None) -> str | None:
    """A client's file name made safe to show and store as text: the last path segment (of
    ``/`` or ``\\``), without control or format characters, at most 255 characters; None when
    nothing is left (``".."``, ``""``). Still never a path: keep files under names you choose."""
    if raw is None:
        return None
    name = raw.replace("\\", "/").rpartition("/")[2]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if name in ("", ".", ".."):
        return None
    return name[:_LONGEST_NAME]


def type_allowed(content_type: str, allowed: Iterable[str]) -> bool:
    """Whether ``content_type`` is one of ``allowed``, where ``image/*`` names a whole type."""
    kind = content_type.partition("/")[0]
    return any(a == content_type or a == f"{kind}/*" or a == "*/*" for a in allowed)


class File(fields.Field[UploadedFile]):
    """A ``multipart/form-data`` part, loaded as an `UploadedFile`.

    ``max_size`` (bytes) refuses a bigger part with ``413``, checked while it streams in, before
    the rest is stored; ``content_types`` (``["image/png", "image/*"]``) refuses a part of
    another declared type with ``422``. The site's ``max_body_size`` still bounds the whole body.
    A JSON or XML body cannot carry a file: such a value is ``422``.
    """

    default_error_messages = {
        "invalid": "Not a file: send it as a part of a multipart/form-data body.",
        "content_type": "A file of type {content_type} is not accepted here; accepted: {allowed}.",
    }

    def __init__(
        self,
        *,
        max_size: int | None = None,
        content_types: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_size is not None and max_size < 0:
            raise ValueError("File.max_size must be a number of bytes")
        self.max_size = max_size
        self.content_types = (
            tuple(t.lower() for t in content_types) if content_types is not None else None
        )

    def check_size(self, size: int) -> None:
        """413 for a part over ``max_size``; the multipart reader asks as bytes arrive."""
        if self.max_size is not None and size > self.max_size:
            raise errors.ContentTooLarge(
                f"{self.name or 'the file'} may be at most {self.max_size} bytes"
            )

    def content_type_error(self, content_type: str) -> ValidationError | None:
        """The 422 message for a part of a type not in ``content_types``; None if accepted."""
        if self.content_types is None or type_allowed(content_type, self.content_types):
            return None
        return self.make_error(
            "content_type", content_type=content_type, allowed=", ".join(self.content_types)
        )

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> UploadedFile:
        if not isinstance(value, UploadedFile):
            raise self.make_error("invalid")
        self.check_size(value.size)
        error = self.content_type_error(value.content_type)
        if error is not None:
            raise error
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        """A file is not written back: its name, where it has one."""
        if value is None:
            return None
        return getattr(value, "filename", None) or str(value)
