"""Where webhooks may go: only http(s), and never to a loopback, private, link-local, multicast, unspecified or
reserved address (so a channel cannot make the service probe its own network), unless the host is listed in
``WEBHOOK_ALLOWED_HOSTS`` (names, addresses or CIDR ranges).

Checked twice: when a channel is saved (the host name resolved with ``getaddrinfo``) and when a message is
sent, where the address the socket actually connected to is checked, so a name that resolves elsewhere by then
(DNS rebinding) is refused as well. Redirects are never followed.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

SCHEMES = ("http", "https")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(OSError):
    """A webhook destination the service may not reach."""


def url_hint(url: str | None) -> str | None:
    """A webhook URL as pages and answers show it: scheme and host only (Teams and Slack URLs are credentials)."""
    if not url:
        return None
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or "?"
    except ValueError:
        return "…"
    return f"{parts.scheme}://{host}/…"


def forbidden(address: Address) -> bool:
    """Loopback, private, link-local, multicast, unspecified, reserved or otherwise not global."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return forbidden(address.ipv4_mapped)
    return (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_unspecified or address.is_reserved or not address.is_global)


@dataclass(frozen=True)
class EgressPolicy:
    """The allow-list from ``WEBHOOK_ALLOWED_HOSTS``: host names (exact, any case) and addresses or networks."""

    allowed: tuple[str, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str] | None) -> EgressPolicy:
        return cls(tuple(e.strip().lower().strip("[]") for e in entries or () if e and e.strip()))

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        networks = []
        for entry in self.allowed:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue
        return networks

    def host_allowed(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allowed

    def address_allowed(self, address: Address) -> bool:
        return not forbidden(address) or any(address in network for network in self._networks())

    def check_peer(self, host: str, peer: str) -> None:
        """The socket connected to ``peer``: refuse it unless it is a public address or the host is allowed."""
        if self.host_allowed(host):
            return
        address = ipaddress.ip_address(peer.split("%")[0])
        if not self.address_allowed(address):
            raise EgressRefused(f"{host} connected to {address}, an address webhooks may not reach")

    def problem(self, url: str, *, resolve: Callable | None = None) -> str | None:
        """Why a webhook may not be sent to ``url`` (checked when a channel is saved), or None."""
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError:
            return "Give an http(s) URL with a valid host and port."
        if parts.scheme.lower() not in SCHEMES:
            return "Only http and https webhooks are allowed."
        if not host:
            return "Give an http(s) URL with a host."
        if self.host_allowed(host):
            return None
        resolve = resolve or socket.getaddrinfo  # looked up now: tests stand in a resolver
        try:
            infos = resolve(host, port or (443 if parts.scheme.lower() == "https" else 80), type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return f"The host {host} does not resolve."
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%")[0])
            if not self.address_allowed(address):
                return (f"{host} is {address}: webhooks may not reach loopback, private, link-local or multicast "
                        "addresses (unless the host is in WEBHOOK_ALLOWED_HOSTS).")
        return None


def _guarded(base: type[HTTPConnection], policy: EgressPolicy) -> type[HTTPConnection]:
    class Guarded(base):  # type: ignore[misc, valid-type]
        def _new_conn(self):
            sock = super()._new_conn()
            try:
                policy.check_peer(self.host, sock.getpeername()[0])
            except BaseException:
                sock.close()
                raise
            return sock

    return Guarded


class EgressAdapter(HTTPAdapter):
    """A requests adapter whose connections check the address they reached before anything is sent."""

    def __init__(self, policy: EgressPolicy):
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": _guarded(HTTPConnection, self.policy)})
        https = type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                     {"ConnectionCls": _guarded(HTTPSConnection, self.policy)})
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


def refusal_in(error: BaseException | None) -> EgressRefused | None:
    """The EgressRefused somewhere in an exception's chain (requests and urllib3 wrap it)."""
    seen = 0
    while error is not None and seen < 12:
        if isinstance(error, EgressRefused):
            return error
        reason = getattr(error, "reason", None)
        error = reason if isinstance(reason, BaseException) else (error.__cause__ or error.__context__)
        seen += 1
    return None
