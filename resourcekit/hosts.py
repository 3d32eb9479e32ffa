"""The ``Host`` a request names, checked before any link is built from it.

Absolute links (``Location``, ``Link``, bodies) are made from the host the client sent, so a
hostile ``Host: e"><script>`` or ``Host: evil.example`` would be written into them, and into any
cache that keys by path alone. `check` refuses a host that is not ``host[:port]`` syntax
(RFC 9110 section 7.2: a DNS name, an IPv4 address or a bracketed IPv6 address), and, with
``Site(allowed_hosts=[...])``, one the site does not answer to.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import MutableMapping, Sequence
from typing import Any

from . import errors

__all__ = ["MAX_HOST_LENGTH", "AllowedHosts", "check", "host_name"]

MAX_HOST_LENGTH = 261
"""A 253-character DNS name, or a bracketed IPv6 address, then ``:`` and a five-digit port."""

_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._\-]+)(?::(\d{1,5}))?")


@functools.lru_cache(maxsize=64)  # keys are at most MAX_HOST_LENGTH long: a site has few names
def host_name(value: str) -> str | None:
    """The lower-case name of a ``host[:port]`` value, without port or final dot; None if invalid.

    Call it with values of at most `MAX_HOST_LENGTH` characters (longer ones are invalid).
    """
    match = _HOST.fullmatch(value)
    if not match or (match[2] is not None and int(match[2]) > 65535):
        return None
    name = match[1].lower()
    if name.startswith("["):
        return name if _is_ipv6(name[1:-1]) else None
    name = name.removesuffix(".")
    return name if name and name[0] != "." and ".." not in name else None


class AllowedHosts:
    """The host names a site answers to: ``Site(allowed_hosts=["api.example.com", ...])``.

    Names match case-insensitively, whatever the port. A name starting with a dot matches the
    domain and every subdomain (``".example.com"``); ``"*"`` matches any valid host.
    """

    def __init__(self, names: Sequence[str]) -> None:
        if isinstance(names, str):
            names = [names]
        if not names:
            raise ValueError("allowed_hosts needs at least one name; use None to allow any")
        self.any = "*" in names
        self.names = frozenset(_pattern(n) for n in names if n != "*")
        self.suffixes = tuple(n for n in self.names if n.startswith("."))

    @classmethod
    def coerce(cls, value: AllowedHosts | Sequence[str] | None) -> AllowedHosts | None:
        """What ``Site(allowed_hosts=...)`` takes: an `AllowedHosts`, names, or None."""
        if value is None or isinstance(value, AllowedHosts):
            return value
        return cls(value)

    def allows(self, name: str) -> bool:
        """Whether the name (as `host_name` gives it) is one of the site's."""
        return (
            self.any
            or name in self.names
            or any(name.endswith(s) or name == s[1:] for s in self.suffixes)
        )


def check(environ: MutableMapping[str, Any], allowed: AllowedHosts | None) -> None:
    """Raise ``400`` for an invalid or foreign ``Host``, and drop it first.

    The problem that answers is built like any other, and without the bad host its links name
    the server (``SERVER_NAME``) instead. An HTTP/1.1 request without ``Host`` is ``400``
    (RFC 9112 section 3.2); an HTTP/1.0 one, which need not send it, is left alone.
    """
    host = environ.get("HTTP_HOST")
    if host is None:
        if environ.get("SERVER_PROTOCOL") == "HTTP/1.1":
            raise errors.BadRequest("an HTTP/1.1 request must have a Host header")
        return
    name = host_name(host) if len(host) <= MAX_HOST_LENGTH else None
    if name is not None and (allowed is None or allowed.allows(name)):
        return
    del environ["HTTP_HOST"]
    if name is None:
        raise errors.BadRequest("the Host header is not a valid host[:port]")
    raise errors.BadRequest("this server does not answer to that Host")


def _pattern(name: str) -> str:
    """A configured name, checked and normalized as `host_name` reads request hosts."""
    if not isinstance(name, str):
        raise ValueError(f"{name!r} is not a host name")
    dot = "." if name.startswith(".") else ""
    normalized = host_name(name[len(dot) :]) if len(name) <= MAX_HOST_LENGTH else None
    if normalized is None or normalized != name[len(dot) :].lower().removesuffix("."):
        raise ValueError(
            f"{name!r} is not a host name (no port, no scheme; '.example.com' for a domain)"
        )
    return dot + normalized


def _is_ipv6(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address)
    except ValueError:
        return False
