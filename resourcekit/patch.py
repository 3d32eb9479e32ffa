"""``PATCH`` documents: JSON Merge Patch (RFC 7396) and JSON Patch (RFC 6902).

Either is applied to the resource's current representation, which its own ``get`` answers,
dumped through the output schema (in the client's API version), keeping the members the input
schema loads; the result is then loaded through the whole input schema, not partially, so
``request.validated`` is the complete new state. The site has checked the preconditions
(``If-Match``) before the handler asks for it, so before the patch is applied.

A resource without ``get`` has no representation to patch: these formats are not offered to it
(``Accept-Patch`` leaves them out) and a body in one is ``415``. Plain JSON and XML bodies keep
their partial load. JSON Patch needs the ``jsonpatch`` package (extra ``patch``).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import webob

from . import errors
from .schemas import load_body

if TYPE_CHECKING:
    from marshmallow import Schema

    from .endpoint import Endpoint
    from .negotiation import Negotiator
    from .request import Request

__all__ = [
    "JSON_PATCH", "MERGE_PATCH", "PATCH_FORMATS", "accept_patch", "advertised_formats",
    "apply_json_patch", "merge", "patched",
]

MERGE_PATCH = "application/merge-patch+json"
"""JSON Merge Patch, RFC 7396."""
JSON_PATCH = "application/json-patch+json"
"""JSON Patch, RFC 6902."""
PATCH_FORMATS = (MERGE_PATCH, JSON_PATCH)
"""The patch formats applied to the current representation, as ``Accept-Patch`` lists them."""
MAX_OPERATIONS = 1000
"""Most operations in one JSON Patch: ``413`` beyond."""
MAX_COPIED = 100_000
"""Most values (each object, array and scalar counts one) a JSON Patch's ``copy`` operations
may copy in all: copying a document into itself doubles it, and a few dozen such operations
would fill any memory. ``413`` beyond."""


def accept_patch(endpoint: Endpoint, negotiator: Negotiator) -> str:
    """``Accept-Patch`` (RFC 5789): the patch formats where ``get`` gives a representation to
    apply them to, then every type the site reads (a partial load)."""
    formats = PATCH_FORMATS if "GET" in endpoint.handlers else ()
    return ", ".join(dict.fromkeys((*formats, *negotiator.accepted)))


def advertised_formats(endpoint: Endpoint, negotiator: Negotiator) -> list[tuple[str, str]]:
    """What ``OPTIONS`` says about request bodies: ``Accept-Patch`` where the resource has
    ``PATCH``, ``Accept-Query`` where it has ``QUERY`` (every type the site reads)."""
    headers = []
    if "PATCH" in endpoint.handlers:
        headers.append(("Accept-Patch", accept_patch(endpoint, negotiator)))
    if "QUERY" in endpoint.handlers:
        headers.append(("Accept-Query", ", ".join(negotiator.accepted)))
    return headers


def patched(request: Request, media_type: str, charset: str | None) -> Any:
    """The new state: the current representation with the patch in the body applied, loaded
    through the whole input schema (``422`` with every field's messages)."""
    endpoint = request.endpoint
    assert endpoint is not None  # only a routed PATCH has a body to load
    get = endpoint.handlers.get("GET")
    if get is None:
        raise errors.UnsupportedMediaType(
            f"{media_type} is applied to the current representation, and this resource has"
            " none (no GET): send the fields to change as JSON"
        )
    document = request.site.negotiator.parser(media_type).read(request, charset, None)
    current = _current(request, endpoint, get)
    if media_type == MERGE_PATCH:
        new = merge(current, document)
    else:
        new = apply_json_patch(current, document)
    schema, versioning = endpoint.input_schema, endpoint.versioning
    keep = functools.partial(_loadable, endpoint)
    if versioning is None:
        return load_body(schema, keep(new))
    return versioning.load(request, schema, new, partial=False, keep=keep)


def _current(request: Request, endpoint: Endpoint, get: Callable[..., Any]) -> Any:
    """What ``get`` answers, as the client sees it: every member, in its API version's shape,
    so a patch may ``test`` or keep any of them (the read-only ones are dropped once the
    result is in the newest shape: `_loadable`)."""
    from .results import Result  # results imports request, which imports this module

    result = get(request, **request.path_params)
    if isinstance(result, Result):
        result = result.obj
    if result is None or isinstance(result, webob.Response):
        raise errors.UnsupportedMediaType(
            "this resource's GET has no representation to apply a patch to: send the fields"
            " to change as JSON"
        )
    schema = endpoint.output_schema
    data = schema.dump(result) if schema is not None else copy.deepcopy(result)
    versioning = endpoint.versioning
    if versioning is not None:
        data = versioning.downgrade(request, data, False)
    return data


def _loadable(endpoint: Endpoint, data: Any) -> Any:
    """A patched representation without its read-only members (``id``, timestamps: what the
    output dumps and the input does not load), which are the server's, not the client's to
    write; any other member stays, for the input schema to judge."""
    dumps, loads = endpoint.output_schema, endpoint.input_schema
    if dumps is None or loads is None or not isinstance(data, dict):
        return data
    read_only = _read_only(dumps, loads)
    return {k: v for k, v in data.items() if k not in read_only}


@functools.lru_cache(maxsize=256)
def _read_only(dumps: Schema, loads: Schema) -> frozenset[str]:
    """The members ``dumps`` writes and ``loads`` does not read, by key: once per pair."""
    loaded = {f.data_key or n for n, f in loads.load_fields.items()}
    return frozenset({f.data_key or n for n, f in dumps.dump_fields.items()} - loaded)


def merge(target: Any, patch: Any) -> Any:
    """RFC 7396: a member set to ``null`` is removed, objects merge member by member, and any
    other value replaces what was there. The parser has bounded the patch's depth."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def apply_json_patch(document: Any, patch: Any) -> Any:
    """RFC 6902, one operation after another: a malformed patch is ``400``, a failed ``test``
    ``409``, a path that does not exist ``422``."""
    import jsonpatch  # only sites that receive JSON Patch documents
    import jsonpointer

    if not isinstance(patch, list):
        raise errors.BadRequest("a JSON Patch is an array of operations")
    if len(patch) > MAX_OPERATIONS:
        raise errors.ContentTooLarge(f"a JSON Patch may have at most {MAX_OPERATIONS} operations")
    try:
        operations = [jsonpatch.JsonPatch([operation]) for operation in patch]
    except (jsonpatch.InvalidJsonPatch, jsonpointer.JsonPointerException) as exc:
        raise errors.BadRequest(f"malformed JSON Patch: {exc}") from None
    document = copy.deepcopy(document)
    copied = 0
    for index, (operation, raw) in enumerate(zip(operations, patch, strict=True)):
        try:
            if raw.get("op") == "copy":
                copied += _count(jsonpointer.resolve_pointer(document, raw.get("from", "")))
                if copied > MAX_COPIED:
                    raise errors.ContentTooLarge(
                        f"a JSON Patch may copy at most {MAX_COPIED} values"
                    )
            document = operation.apply(document, in_place=True)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise errors.Conflict(f"operation {index} (test) failed: {exc}") from None
        except jsonpatch.InvalidJsonPatch as exc:
            raise errors.BadRequest(f"malformed JSON Patch, operation {index}: {exc}") from None
        except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
            raise errors.UnprocessableContent(
                f"operation {index} cannot be applied: {exc}",
                errors={f"/{index}": [str(exc)]},
            ) from None
    return document


def _count(value: Any) -> int:
    """How many values ``value`` holds, itself included."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count
