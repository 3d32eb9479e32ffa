"""One API version's document: its routes, its field names, its changes, its header.

A site with `resourcekit.versioning.Versions` has one document per version. A route is in it
from its ``since`` on; each schema a ``renamed`` change concerns shows the field names of that
version (`resourcekit.versioning.Versions.schema_at`). What ``upgrade`` and ``downgrade``
functions do cannot be read from them: every change's description is listed, in
``info.description`` (which documentation pages show) and in ``info["x-changes"]`` as
``{"version", "description", "schema"}`` objects, oldest first; ``info["x-api-version"]`` names
the document's version. Every operation takes the version header, a component parameter, and
every response (problems included) declares ``API-Version``, and ``Deprecation`` and ``Sunset``
in the document of a deprecated version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marshmallow import Schema

    from ..routing import Route
    from ..versioning import Change, Versions

__all__ = ["VersionView", "chosen"]


def chosen(versions: Versions | None, version: str | None) -> str | None:
    """The version a document describes: ``version``, or the one a request naming none gets;
    ``ValueError`` for one the site does not have."""
    if versions is None:
        if version is not None:
            raise ValueError(f"the site has no versions, so none is {version!r}")
        return None
    if version is None:
        return versions.fallback
    if version not in versions.versions:
        raise ValueError(f"{version!r} is not one of the versions {', '.join(versions.versions)}")
    return version


class VersionView:
    """The site's schemas and routes as seen by clients of ``version``."""

    def __init__(self, versions: Versions, version: str) -> None:
        self.versions = versions
        self.version = version
        self.later: list[Change] = versions.changes_after(version)

    def has(self, route: Route[Any]) -> bool:
        versioning = route.target.versioning
        return versioning is None or self.version not in versioning.hidden

    def schema(self, schema: Schema) -> Schema:
        """``schema`` with the field names of this version (`Versions.schema_at`)."""
        return self.versions.schema_at(schema, self.version)

    def info(self, described: str | None) -> dict[str, Any]:
        """``info`` members: the version, and every change described."""
        changes = [
            {"version": c.version, "description": c.description, "schema": c.schema.__name__}
            for c in self.versions.changes
        ]
        lines = [f"API version `{self.version}` (send `{self.versions.header}: {self.version}`)."]
        if changes:
            lines += ["", "Changes between versions:", ""]
            lines += [f"- `{c['version']}` ({c['schema']}): {c['description']}" for c in changes]
        text = "\n".join(lines)
        return {
            "description": f"{described}\n\n{text}" if described else text,
            "x-api-version": self.version,
            "x-changes": changes,
        }

    def response_headers(self) -> dict[str, Any]:
        """What every response of this version carries: ``API-Version``, and the deprecation
        headers of a deprecated version."""
        versions = self.versions
        headers: dict[str, Any] = {versions.header: {
            "description": f"The API version the response is in: `{self.version}` (the one "
                           f"this document describes) unless the request named another.",
            "required": True, "schema": {"type": "string", "enum": list(versions.versions)},
        }}
        if self.version in versions.deprecated:
            headers["Deprecation"] = {
                "description": "This version is deprecated (RFC 9745): since when, as `@` and "
                               "Unix seconds.", "required": True, "schema": {"type": "string"}}
            if versions.deprecated[self.version] is not None:
                headers["Sunset"] = {
                    "description": "When this version stops answering (RFC 8594).",
                    "required": True, "schema": {"type": "string"}}
        return headers

    def header(self) -> dict[str, Any]:
        """The version header's parameter."""
        versions = self.versions
        return {
            "description": f"The API version to answer in; this document describes "
                           f"`{self.version}`. Without it: `{versions.fallback}`"
                           + (" unless the client is pinned to another." if versions.pin else "."),
            "schema": {"type": "string", "enum": list(versions.versions)},
            "examples": {self.version: {"value": self.version}},
        }
