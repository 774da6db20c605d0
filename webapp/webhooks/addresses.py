"""Where webhooks may go: public addresses only, checked at registration and again on every connection.

A registered name may resolve elsewhere later (DNS rebinding), so registration's
check is not enough: the worker's HTTP session checks the address each socket
actually connected to, before a byte of the request (or a TLS handshake) is
sent, and closes it when that address is loopback, private, link-local (the
cloud metadata address 169.254.169.254), unique-local (fd00:ec2::254),
shared (CGNAT 100.64/10), unspecified, multicast or reserved.
WEBHOOK_ALLOW_PRIVATE=1 lifts both checks (tests, an internal network).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_URL = 2000


class EndpointRefused(ValueError):
    """A URL no webhook may be sent to; the message says why (and holds no secret)."""


def refusal(address: str) -> str | None:
    """Why `address` (an IP literal) is no place for a webhook, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified or ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global:  # 10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10 and the like
        return "a private address"
    return None


def check_url(url: Any, *, allow_private: bool) -> str:
    """`url` when it is an http(s) URL whose host resolves only to public addresses; EndpointRefused otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise EndpointRefused("Give url: the endpoint's http or https URL.")
    url = url.strip()
    if len(url) > MAX_URL:
        raise EndpointRefused(f"The URL is longer than {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise EndpointRefused("The URL cannot be read.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointRefused("The URL must start with http:// or https:// and name a host.")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("The URL must not carry a user name or password: the signature authenticates us.")
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EndpointRefused(f"The host {parts.hostname} does not resolve.") from None
    for info in infos:
        why = refusal(str(info[4][0]))
        if why is not None:
            raise EndpointRefused(f"The host {parts.hostname} resolves to {why} ({info[4][0]}); "
                                  "set WEBHOOK_ALLOW_PRIVATE=1 to allow it.")
    return url


def _checked(sock: socket.socket) -> socket.socket:
    """`sock` if its peer is public; closed, and EndpointRefused, if not."""
    peer = str(sock.getpeername()[0])
    why = refusal(peer)
    if why is not None:
        sock.close()
        raise EndpointRefused(f"refused at connect time: {peer} is {why}")
    return sock


class _PublicHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn())


class _PublicHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn())


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse any peer that is not a public address."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}


def http_session(*, allow_private: bool) -> requests.Session:
    """A Session for deliveries: no proxies from the environment (the peer check must see the receiver
    itself), and with WEBHOOK_ALLOW_PRIVATE unset, public peers only."""
    session = requests.Session()
    session.trust_env = False
    if not allow_private:
        adapter = PublicOnlyAdapter(pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session
