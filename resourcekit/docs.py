"""The site's own documentation: ``/openapi.json`` and a Swagger UI page at ``/docs``.

``Site(docs=True)`` calls `install`, which registers three resources:

- ``GET /openapi.json``: `resourcekit.openapi.document`, built on the first request and again
  whenever routes were added since, with a weak ``ETag`` so clients revalidate cheaply; under a
  mount point (``SCRIPT_NAME``) its ``servers`` names that path, unless the site set its own;
  on a site with versions, ``?version=2026-11-23`` gives that version's document (``400`` for
  an unknown one), and no ``version`` the one a request naming none is answered in;
- ``GET /docs``: Swagger UI, with ``Content-Security-Policy`` allowing this site only; on a
  site with versions, its top bar switches between the versions' documents;
- ``GET /docs/assets/{name}``: Swagger UI's script, stylesheet and icons from the
  ``openapi-ui-bundles`` package (Swagger UI 5, which reads OpenAPI 3.1), plus the page's own
  start-up script, cached for a day.

Every URL on the page is relative, so it works offline, behind a proxy and under any
``SCRIPT_NAME``, and loads nothing from any other host. The three resources set
``authentication = []``: the docs are readable even where the site requires credentials (the
page's "Authorize" button sends them with "Try it out"). They count against the site's rate
limit like any other resource. They are left out of the document itself.
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
from importlib import resources
from typing import TYPE_CHECKING, Any

import webob

from . import errors
from .memo import Memo
from .resource import Resource

if TYPE_CHECKING:
    from .request import Request
    from .site import Site

__all__ = ["ASSETS", "install"]

_BUNDLE = "openapi_ui_bundles"
_SWAGGER_UI = "swagger_ui/vendor"
ASSETS: dict[str, str] = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
    "docs.js": "text/javascript; charset=utf-8",
}
"""The files ``/docs/assets/{name}`` serves, with their ``Content-Type``; nothing else."""

ASSET_CACHE = "public, max-age=86400"

_START = """\
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  var url = root.getAttribute("data-openapi");
  var versions = JSON.parse(root.getAttribute("data-versions") || "[]");
  var options = {
    url: url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  };
  if (versions.length) {  // one document per API version, switched in the top bar
    options.urls = versions.map(function (v) {
      return {url: url + "?version=" + encodeURIComponent(v), name: "API version " + v};
    });
    options["urls.primaryName"] = "API version " + root.getAttribute("data-version");
    options.presets.push(SwaggerUIStandalonePreset);
    options.layout = "StandaloneLayout";
  }
  window.ui = SwaggerUIBundle(options);
});
"""
"""The page's start-up script, served as an asset so the page needs no inline script."""

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API documentation</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" sizes="32x32" href="docs/assets/favicon-32x32.png">
<link rel="icon" type="image/png" sizes="16x16" href="docs/assets/favicon-16x16.png">
</head>
<body>
<div id="swagger-ui" data-openapi="openapi.json"{versions}></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>{preset}
<script src="docs/assets/docs.js"></script>
</body>
</html>
"""

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
"""Swagger UI sets inline styles; scripts, requests and images stay on this site."""


def install(site: Site) -> None:
    """Serve ``site``'s OpenAPI document, its Swagger UI page and the page's assets."""
    site.add("/openapi.json", OpenAPIDocument(site), name="openapi")
    site.add("/docs", DocsPage(site), name="docs")
    site.add("/docs/assets/{name}", DocsAsset(), name="docs_assets")


class _Internal(Resource):
    """Open to every client, and not part of the document it serves."""

    authentication = []  # none required, whatever the site's default
    documented = False
    vary = ()  # one representation whatever the request: a 304 carries no Vary the 200 lacks


class OpenAPIDocument(_Internal):
    """The site's OpenAPI 3.1 document, as JSON whatever the client's ``Accept`` says."""

    cache_control = "no-cache"  # sent with 304s; the 200 carries it itself

    def __init__(self, site: Site) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._cache: Memo[tuple[int, str, str | None], tuple[bytes, str]] = Memo(16)

    def etag(self, request: Request, **fields: Any) -> str:
        return self._built(request)[1]

    def get(self, request: Request) -> webob.Response:
        body, tag = self._built(request)
        return _response(body, "application/json", "no-cache", tag)

    def _built(self, request: Request) -> tuple[bytes, str]:
        """Built once per set of routes, mount point and API version, then reused."""
        version = self._version(request)
        key = (len(self.site.routes), request.script_name, version)
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                built = _serialised(self.site, request.script_name, version)
                found = self._cache.keep(key, built)
            return found

    def _version(self, request: Request) -> str | None:
        """``?version=``: one of the site's versions (400 otherwise), or None."""
        version: str | None = request.query_params.get("version")
        versions = self.site.versions
        if version is None or versions is None:
            return None
        if version not in versions.versions:
            raise errors.BadRequest(
                f"{version[:64]!r} is not a version of this API; the versions are "
                f"{', '.join(versions.versions)}",
                versions=list(versions.versions),
            )
        return version


class DocsPage(_Internal):
    """Swagger UI for the site's document; every URL in it is relative to this site."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def get(self, request: Request) -> webob.Response:
        versions = self.site.versions
        switch = preset = ""
        if versions is not None:
            switch = (f" data-versions='{html.escape(json.dumps(versions.versions))}'"
                      f' data-version="{html.escape(versions.fallback)}"')
            preset = '\n<script src="docs/assets/swagger-ui-standalone-preset.js"></script>'
        page = _PAGE.format(
            title=html.escape(self.site.title), versions=switch, preset=preset
        ).encode()
        response = _response(page, "text/html; charset=utf-8", "no-cache")
        response.headers["Content-Security-Policy"] = _CSP
        return response


class DocsAsset(_Internal):
    """The page's script, stylesheet and icons, from an installed package: no CDN."""

    cache_control = ASSET_CACHE  # sent with 304s; the 200 carries it itself

    def __init__(self) -> None:
        self._files: dict[str, tuple[bytes, str]] = {}

    def etag(self, request: Request, **fields: Any) -> str:
        return self._file(fields["name"])[1]  # the route's one field

    def get(self, request: Request, name: str) -> webob.Response:
        body, tag = self._file(name)
        return _response(body, ASSETS[name], ASSET_CACHE, tag)

    def _file(self, name: str) -> tuple[bytes, str]:
        if name not in ASSETS:
            raise errors.NotFound(f"no documentation asset {name!r}")
        found = self._files.get(name)
        if found is None:
            body = _START.encode() if name == "docs.js" else _read_asset(name)
            found = self._files[name] = (body, _weak_tag(body))
        return found


def _read_asset(name: str) -> bytes:
    return resources.files(_BUNDLE).joinpath(_SWAGGER_UI, name).read_bytes()


def _serialised(site: Site, script_name: str, version: str | None) -> tuple[bytes, str]:
    document: dict[str, Any] = site.openapi(version)
    if script_name and site.servers is None:  # the site's own servers are what it says
        document = {**document, "servers": [{"url": script_name}]}
    body = json.dumps(document, ensure_ascii=False).encode()
    return body, _weak_tag(body)


def _weak_tag(body: bytes) -> str:
    """Weak: the bytes are the same whatever media type the site would have negotiated."""
    return f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def _response(
    body: bytes, content_type: str, cache_control: str, etag: str | None = None
) -> webob.Response:
    """A response the site sends as it is, not negotiated or rendered again (the site adds
    ``X-Content-Type-Options`` to it, as to every reply)."""
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", cache_control),
    ]
    if etag is not None:
        headers.append(("ETag", etag))
    return webob.Response(body=body, headerlist=headers)
