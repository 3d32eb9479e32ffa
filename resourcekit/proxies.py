"""Trusted proxies: the client's scheme, host and address as seen before a reverse proxy.

``Forwarded`` (RFC 7239) and ``X-Forwarded-*`` are just request headers: any client can send them.
They are believed only when the peer (``REMOTE_ADDR``) is a configured proxy, and then only the
parts that trusted proxies wrote: the ``for`` chain is walked from the right (the nearest hop),
and it stops at the first address that is not a trusted proxy, which is the client. Anything
to its left was written by the client and is never read. ``X-Forwarded-Port`` gives the
port of the client's URL and ``X-Forwarded-Prefix`` the path the proxy stripped (the site's
links then include it). A malformed header never fails the request: it is ignored, and the
values of the connection are used.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .headers import TCHARS, unquote
from .hosts import MAX_HOST_LENGTH, host_name

__all__ = ["CLIENT", "Origin", "TrustedProxies", "client_of", "parse_forwarded"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Hop = dict[str, str]
"""One ``Forwarded`` element: lower-case parameter names to their (unquoted) values."""

_PAIR = re.compile(rf'[ \t]*({TCHARS})=(?:"((?:[^"\\]|\\.)*)"|([^\s;,"]+))[ \t]*')
CLIENT = "resourcekit.client"
"""The environ key where the site leaves the client's address once proxies are resolved."""
_OBFUSCATED = re.compile(r"_[A-Za-z0-9._\-]+")
_PROTOS = frozenset({"http", "https"})
_PREFIX = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")  # no %: SCRIPT_NAME is decoded


@dataclass(frozen=True)
class Origin:
    """Where the client sent the request.

    ``scheme`` and ``host`` (``host[:port]``) are those of the URL it used; ``client`` is its
    address, or what a proxy put in its place (``unknown``, an obfuscated ``_name``).
    """

    scheme: str
    host: str
    client: str
    prefix: str = ""
    """The path a proxy stripped before passing the request on (``X-Forwarded-Prefix``):
    where the site is mounted as the client sees it, ahead of ``SCRIPT_NAME``."""


class TrustedProxies:
    """The peers whose forwarding headers are believed: addresses or networks, IPv4 or IPv6.

    ``header`` says which headers they set: ``"auto"`` prefers ``Forwarded`` and falls back
    to ``X-Forwarded-For``/``-Proto``/``-Host``. A proxy passes on what the client sent in the
    headers it does not set itself, so when yours sets only one kind, name it (or make the proxy
    strip the other); otherwise a client can forge its address, scheme and host.
    """

    def __init__(
        self,
        proxies: Sequence[str],
        *,
        header: Literal["auto", "forwarded", "x-forwarded"] = "auto",
    ) -> None:
        if isinstance(proxies, str):
            proxies = [proxies]
        if header not in ("auto", "forwarded", "x-forwarded"):
            raise ValueError(f"header must be auto, forwarded or x-forwarded, not {header!r}")
        self.networks = tuple(_network(p) for p in proxies)
        self.header = header

    @classmethod
    def coerce(cls, value: TrustedProxies | Sequence[str] | None) -> TrustedProxies | None:
        """What ``Site(trusted_proxies=...)`` takes: a `TrustedProxies`, addresses, or None."""
        if value is None or isinstance(value, TrustedProxies):
            return value
        return cls(value)

    def trusts(self, address: str | IPAddress | None) -> bool:
        """Whether ``address`` is one of the proxies (False for anything not an address)."""
        ip = _address(address) if isinstance(address, str) else address
        if ip is None:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def resolve(self, environ: Mapping[str, Any]) -> Origin:
        """The client's scheme, host and address, through the proxies we trust."""
        scheme = environ.get("wsgi.url_scheme", "http")
        host = _environ_host(environ, scheme)
        peer = environ.get("REMOTE_ADDR", "")
        if not self.networks or not self.trusts(peer):
            return Origin(scheme, host, peer)
        hops = self._hops(environ)
        if not hops:
            return Origin(scheme, host, peer)
        client, port, prefix = peer, None, ""
        for hop in reversed(hops):  # nearest first; each hop was written by a trusted proxy
            if _valid_proto(hop.get("proto")):
                scheme = hop["proto"].lower()
            if _valid_host(hop.get("host")):
                host, port = hop["host"], None  # its own port, or the scheme's
            if hop.get("port", "").isdigit() and _port(hop["port"]):
                port = hop["port"]
            if _valid_prefix(hop.get("prefix")):
                prefix = hop["prefix"].rstrip("/")
            node = _node(hop.get("for"))
            if node is None:  # no address: the client is the last one known
                break
            client = str(node)
            if isinstance(node, str) or not self.trusts(node):  # unknown, obfuscated, untrusted
                break
        return Origin(scheme, _with_port(host, port, scheme), client, prefix)

    def _hops(self, environ: Mapping[str, Any]) -> list[Hop] | None:
        """The forwarding elements, oldest first, from the header the proxies use."""
        forwarded = environ.get("HTTP_FORWARDED")
        if self.header == "forwarded" or (self.header == "auto" and forwarded):
            return parse_forwarded(forwarded or "")
        return _x_forwarded(environ)


def client_of(environ: Mapping[str, Any]) -> str:
    """The client's address: the one the site resolved through trusted proxies (`CLIENT`), else
    the peer's ``REMOTE_ADDR``; empty when neither is known."""
    address: str = environ.get(CLIENT) or environ.get("REMOTE_ADDR") or ""
    return address


def parse_forwarded(value: str) -> list[Hop] | None:
    """RFC 7239 ``Forwarded``: its elements, oldest first; None when it does not parse.

    Empty elements and empty pairs are skipped, as list syntax allows; a parameter repeated in
    one element makes the whole header malformed. Values keep their case; names are lowered.
    """
    hops: list[Hop] = []
    hop: Hop = {}
    position = 0
    while position < len(value):
        match = _PAIR.match(value, position)
        if match:
            name = match[1].lower()
            if name in hop:
                return None
            quoted = match[2]
            hop[name] = unquote(quoted) if quoted is not None else match[3]
            position = match.end()
        else:
            while position < len(value) and value[position] in " \t":
                position += 1
        if position == len(value):
            break
        separator = value[position]
        if separator == ",":
            if hop:
                hops.append(hop)
            hop = {}
        elif separator != ";":
            return None
        position += 1
    if hop:
        hops.append(hop)
    return hops


def _x_forwarded(environ: Mapping[str, Any]) -> list[Hop]:
    """``X-Forwarded-*`` as ``Forwarded`` elements: one per ``X-Forwarded-For`` address.

    Proto and host are not per hop there; the nearest (right-most) value goes to the nearest
    element, as proxies either overwrite those headers or append to them.
    """
    hops: list[Hop] = [{"for": a} for a in _items(environ.get("HTTP_X_FORWARDED_FOR"))]
    nearest: Hop = hops[-1] if hops else {}
    for name in ("proto", "host", "port", "prefix"):
        values = _items(environ.get(f"HTTP_X_FORWARDED_{name.upper()}"))
        if values:
            nearest[name] = values[-1]
    if nearest and not hops:
        hops.append(nearest)
    return hops


def _items(value: str | None) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()] if value else []


def _node(value: str | None) -> IPAddress | str | None:
    """A ``for`` value: an address, or ``unknown`` / an obfuscated name; None when invalid.

    Accepts RFC 7239's forms (``192.0.2.1``, ``"192.0.2.1:4711"``, ``"[2001:db8::1]:4711"``,
    ``unknown``, ``_hidden``, each with an optional port) and bare IPv6, as some proxies send.
    """
    if not value:
        return None
    ip = _address(value)
    if ip is not None:
        return ip
    if value.startswith("["):
        inside, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest[0] == ":" and _port(rest[1:]))):
            return None
        ip = _address(inside)
        return ip if isinstance(ip, ipaddress.IPv6Address) else None
    name, colon, port = value.partition(":")
    if colon and not _port(port):
        return None
    ip = _address(name)
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if name.lower() == "unknown":
        return "unknown"
    return name if _OBFUSCATED.fullmatch(name) else None


def _port(value: str) -> bool:
    """A node-port: a number, or an obfuscated name."""
    if value.isdigit():
        return len(value) <= 5 and int(value) <= 65535
    return bool(_OBFUSCATED.fullmatch(value))


def _address(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _valid_proto(value: str | None) -> bool:
    return value is not None and value.lower() in _PROTOS


def _with_port(host: str, port: str | None, scheme: str) -> str:
    """``host`` on the port a proxy named (``X-Forwarded-Port``), none for the scheme's own;
    ``host`` as it is where no port was named after it."""
    if port is None:
        return host
    name = host.rpartition(":")[0] if not host.endswith("]") and ":" in host else host
    default = "443" if scheme == "https" else "80"
    return name if port == default else f"{name}:{port}"


def _valid_prefix(value: str | None) -> bool:
    """A path a proxy mounts the site under: absolute, no dot or empty segments (``//host``
    would make a relative link another site's), nothing but path characters (no query,
    fragment, backslash, control or space)."""
    if not value or not value.startswith("/") or len(value) > 1000:
        return False
    segments = value.rstrip("/").split("/")[1:]
    return (
        not any(segment in ("", ".", "..") for segment in segments)
        and _PREFIX.fullmatch(value) is not None
    )


def _valid_host(value: str | None) -> bool:
    """``host[:port]`` with a DNS name, IPv4 or bracketed IPv6 address, and nothing else."""
    return value is not None and len(value) <= MAX_HOST_LENGTH and host_name(value) is not None


def _environ_host(environ: Mapping[str, Any], scheme: str) -> str:
    """The host as PEP 3333's URL reconstruction has it: ``Host``, else server name and port."""
    sent: str | None = environ.get("HTTP_HOST")
    if sent:
        return sent
    host: str = environ.get("SERVER_NAME", "")
    port = str(environ.get("SERVER_PORT", ""))
    if port and port != ("443" if scheme == "https" else "80"):
        host += ":" + port
    return host


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A configured proxy: an address (a network of one) or a network in CIDR notation."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an address or a network")
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an address or a network: {exc}") from None
