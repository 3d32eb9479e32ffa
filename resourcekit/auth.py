"""Authentication (who is calling: 401) and permissions (may they: 403).

An authenticator reads one kind of credential. It returns None when the request carries none of
its kind, so the next one can try, and raises 401 when it carries a malformed or rejected one: a
client that sent a bad token should learn so, not be treated as anonymous. A 401 from
`authenticate` lists the challenges of all the authenticators, one ``WWW-Authenticate`` header
per scheme, so the client sees every way in.

Rejections use RFC 6750's error codes for every scheme, in the problem's ``error`` member:
``invalid_request`` (malformed credentials) and ``invalid_token`` (credentials ``verify``
refused). Details never repeat what the client sent, so secrets do not end up in logs.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import errors
from .headers import is_token, quote
from .methods import SAFE_METHODS
from .request import Request

if TYPE_CHECKING:  # resource imports this module
    from .resource import Resource

__all__ = [
    "APIKey",
    "Authenticator",
    "Basic",
    "Bearer",
    "Permission",
    "authenticate",
    "authenticated",
    "authenticated_or_read_only",
    "check_permissions",
    "identity_key",
    "passwords",
    "tokens",
]

Permission = Callable[["Request", "Resource"], bool]
"""A check run after authentication; a false result is 403."""

_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_VISIBLE = re.compile(r"[\x21-\x7e]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_READ_ONLY = SAFE_METHODS | {"OPTIONS"}


class Authenticator:
    """One kind of credential. Subclasses set ``scheme`` and implement both methods."""

    scheme: str = ""

    def authenticate(self, request: Request) -> Any | None:
        """The identity; None without credentials of this kind; 401 for bad ones."""
        raise NotImplementedError

    def challenge(self, error: str | None = None) -> str:
        """The ``WWW-Authenticate`` value, with ``error`` where the scheme defines one."""
        raise NotImplementedError

    def openapi_scheme(self) -> tuple[str, dict[str, Any]]:
        """The name and OpenAPI Security Scheme Object documenting this kind of credential.

        By default an HTTP authentication scheme named by ``scheme`` (as `Bearer` and `Basic`
        are); override it for credentials sent another way, as `APIKey` does.
        """
        scheme = (self.scheme or type(self).__name__).lower()
        return f"{scheme}Auth", {"type": "http", "scheme": scheme}

    def accepted(self, identity: Any | None, refusal: str) -> Any:
        """``verify``'s answer: the identity, or 401 ``invalid_token`` with ``refusal``."""
        if identity is None:
            raise self.reject(refusal)
        return identity

    def reject(self, detail: str, error: str = "invalid_token") -> errors.Unauthorized:
        """The 401 for credentials of this kind that are malformed or refused."""
        challenge = ("WWW-Authenticate", self.challenge(error))
        return errors.Unauthorized(detail, headers=[challenge], error=error)


class _AuthorizationScheme(Authenticator):
    """An ``Authorization: <scheme> <token68>`` authenticator with a ``realm``; ``verify`` maps
    what the scheme carries (a token; a username and a password) to an identity or None."""

    def __init__(self, verify: Callable[..., Any | None], realm: str = "api") -> None:
        self.verify = verify
        self.realm = quote(realm)

    def credentials(self, request: Request) -> str | None:
        """The token68 after our scheme; None for another scheme; 401 when malformed."""
        value: str = request.environ.get("HTTP_AUTHORIZATION", "")
        value = value.strip()
        scheme, _, rest = value.partition(" ")
        if scheme.lower() != self.scheme.lower():
            return None
        token = rest.strip(" ")
        if not _TOKEN68.fullmatch(token):
            raise self.reject(f"malformed {self.scheme} credentials", "invalid_request")
        return token


class Bearer(_AuthorizationScheme):
    """RFC 6750 bearer tokens: ``verify(token)`` returns the identity or None."""

    scheme = "Bearer"

    def authenticate(self, request: Request) -> Any | None:
        token = self.credentials(request)
        if token is None:
            return None
        return self.accepted(self.verify(token), "the bearer token was not accepted")

    def challenge(self, error: str | None = None) -> str:
        value = f"Bearer realm={self.realm}"
        return f'{value}, error="{error}"' if error else value


class Basic(_AuthorizationScheme):
    """RFC 7617 user-id and password: ``verify(username, password)`` returns the identity or None.

    The credentials must be strict base64 (no stray characters, correct padding) of UTF-8 text
    holding a ``:`` and no control characters; the password may contain more colons. RFC 7617
    defines no ``error`` parameter, so the challenge never has one.
    """

    scheme = "Basic"

    def authenticate(self, request: Request) -> Any | None:
        token = self.credentials(request)
        if token is None:
            return None
        try:
            text = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise self.reject("malformed Basic credentials", "invalid_request") from None
        username, colon, password = text.partition(":")
        if not colon or _CONTROL.search(text):
            raise self.reject("malformed Basic credentials", "invalid_request")
        return self.accepted(self.verify(username, password), "invalid username or password")

    def challenge(self, error: str | None = None) -> str:
        return f'Basic realm={self.realm}, charset="UTF-8"'


class APIKey(Authenticator):
    """A key in a header of its own (``X-API-Key``): ``verify(key)`` returns the identity or None.

    No authentication scheme is registered for API keys, yet a 401 must carry a challenge: it is
    ``APIKey header="X-API-Key"``, which names the header to send (with ``error`` on rejection).
    A header that is present but empty counts as a malformed key, not as a missing one.
    """

    scheme = "APIKey"

    def __init__(self, verify: Callable[[str], Any | None], header: str = "X-API-Key") -> None:
        if not is_token(header):
            raise ValueError(f"{header!r} is not a header name")
        self.verify = verify
        self.header = header
        self._environ_key = "HTTP_" + header.upper().replace("-", "_")

    def authenticate(self, request: Request) -> Any | None:
        key = request.environ.get(self._environ_key)
        if key is None:
            return None
        key = key.strip(" \t")
        if not _VISIBLE.fullmatch(key):
            raise self.reject("malformed API key", "invalid_request")
        return self.accepted(self.verify(key), "the API key was not accepted")

    def challenge(self, error: str | None = None) -> str:
        value = f'APIKey header="{self.header}"'
        return f'{value}, error="{error}"' if error else value

    def openapi_scheme(self) -> tuple[str, dict[str, Any]]:
        name = "apiKey" if self.header == "X-API-Key" else f"apiKey-{self.header}"
        return name, {"type": "apiKey", "in": "header", "name": self.header}


def authenticate(
    request: Request, authenticators: Sequence[Authenticator], *, required: bool = True
) -> Any:
    """The identity from the first authenticator that finds one, trying them in order.

    A rejection by any of them is final (401 with every scheme's challenge). Without credentials
    of any kind: 401 "authentication required", or None when ``required`` is false (for
    resources whose permissions decide what anonymous clients may do).
    """
    if not authenticators:
        raise ValueError("authenticate needs at least one authenticator")
    for authenticator in authenticators:
        try:
            identity = authenticator.authenticate(request)
        except errors.Unauthorized as exc:
            exc.headers = _challenges(authenticators, authenticator, exc.headers)
            raise
        if identity is not None:
            return identity
    if not required:
        return None
    raise errors.Unauthorized(
        "authentication required", headers=_challenges(authenticators, None, [])
    )


def _challenges(
    authenticators: Sequence[Authenticator],
    failed: Authenticator | None,
    headers: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """``headers`` with one challenge per scheme, in order; the failed scheme keeps its own."""
    own = [v for k, v in headers if k.lower() == "www-authenticate"]
    result = [(k, v) for k, v in headers if k.lower() != "www-authenticate"]
    seen: set[str] = set()
    for authenticator in authenticators:
        scheme = authenticator.scheme.lower()
        if scheme in seen:
            continue
        seen.add(scheme)
        if failed is not None and scheme == failed.scheme.lower():
            values = own or [failed.challenge()]
        else:
            values = [authenticator.challenge()]
        result.extend(("WWW-Authenticate", value) for value in values)
    return result


def tokens(mapping: Mapping[str, Any]) -> Callable[[str], Any | None]:
    """A ``verify`` for `Bearer` or `APIKey`: the identity of the matching secret, else None.

    Every configured secret is compared with ``hmac.compare_digest``, without stopping at a
    match, so the time taken does not tell which one (or how many) matched.
    """
    entries = [(_secret(secret), identity) for secret, identity in mapping.items()]

    def verify(token: str) -> Any | None:
        presented = _utf8(token)
        found = None
        for secret, identity in entries:
            if hmac.compare_digest(presented, secret) and found is None:
                found = identity
        return found

    return verify


def passwords(mapping: Mapping[str, str]) -> Callable[[str, str], Any | None]:
    """A ``verify`` for `Basic` from ``{username: password}``; the identity is the username.

    An unknown username is compared against a random dummy password, so the answer takes as
    long as for a known one and timing does not reveal which usernames exist.
    """
    users = {username: _secret(password) for username, password in mapping.items()}
    dummy = secrets.token_hex(16).encode()

    def verify(username: str, password: str) -> str | None:
        expected = users.get(username)
        matched = hmac.compare_digest(_utf8(password), dummy if expected is None else expected)
        return username if matched and expected is not None else None

    return verify


def _secret(value: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise ValueError("secrets must be non-empty strings")
    return _utf8(value)


def _utf8(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def check_permissions(
    request: Request, resource: Resource, permissions: Iterable[Permission]
) -> None:
    """403 naming the first permission that returns false; they run in order."""
    for permission in permissions:
        if not permission(request, resource):
            name = getattr(permission, "__name__", None) or repr(permission)
            raise errors.Forbidden(f"permission denied: {name}")


def authenticated(request: Request, resource: Resource) -> bool:
    """The request has an identity."""
    return getattr(request, "identity", None) is not None


def authenticated_or_read_only(request: Request, resource: Resource) -> bool:
    """Anyone may read (``GET``, ``HEAD``, ``OPTIONS``); writing needs an identity."""
    return request.method in _READ_ONLY or authenticated(request, resource)


def identity_key(identity: Any) -> str:
    """A stable text naming ``identity``, which scopes idempotency keys (and whatever else must
    tell clients apart across requests and processes).

    Strings and numbers name themselves; an object names itself by its ``identity_key``
    attribute, else its ``id``, else its own ``__repr__`` (a dataclass's, a named tuple's). An
    object with none of these would be named by its memory address, which changes every
    request: that is a `resourcekit.errors.ConfigurationError`, not a silent mismatch.
    """
    if identity is None:
        return "-"
    if isinstance(identity, str | int):
        return f"{type(identity).__name__}:{identity}"
    kind = type(identity).__qualname__
    for name in ("identity_key", "id"):
        value = getattr(identity, name, None)
        if isinstance(value, str | int):
            return f"{kind}.{name}:{value}"
    own_repr: object = type(identity).__repr__
    if own_repr is object.__repr__:  # it would show a memory address
        raise errors.ConfigurationError(
            f"identity {kind} has no stable key: give it an identity_key or id attribute"
            " (str or int), or a __repr__ of its own"
        )
    return f"{kind}:{identity!r}"
