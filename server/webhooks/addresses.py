"""Server-side request forgery guard: which addresses a webhook may reach.

Only http(s) URLs, always. In production (or with WEBHOOK_BLOCK_PRIVATE) the host must resolve to
public addresses only — loopback, link-local, private, reserved, multicast and unspecified addresses
are refused — unless WEBHOOK_ALLOWED_HOSTS names the host, the address or a network holding it.
The check runs when an endpoint is saved and again on the very address each delivery connects to
(``GuardedSession``), so a name that later resolves elsewhere (DNS rebinding) is still refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class BlockedAddress(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


def system_resolver(host: str, port: int) -> list[str]:
    return list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


@dataclass(frozen=True)
class AddressPolicy:
    block_private: bool = False
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], resolver: Resolver = system_resolver) -> AddressPolicy:
        names, networks = set(), []
        for item in str(config.get("WEBHOOK_ALLOWED_HOSTS") or "").split(","):
            item = item.strip().lower().strip("[]")
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                names.add(item)
        block = config.get("APP_ENV") == "production" or bool(config.get("WEBHOOK_BLOCK_PRIVATE"))
        return cls(block, frozenset(names), tuple(networks), resolver)

    def host_allowed(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allowed_names

    def check_address(self, host: str, address: str) -> None:
        """Raise BlockedAddress unless ``address`` (one that ``host`` resolved to) may be reached."""
        if not self.block_private or self.host_allowed(host):
            return
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowed_networks):
            return
        if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
            raise BlockedAddress(f"blocked address {ip}")

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` that may be reached; BlockedAddress if any may not."""
        try:
            addresses = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            addresses = []
        try:
            addresses = addresses or self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise BlockedAddress(f"cannot resolve {host}") from exc
        if not addresses:
            raise BlockedAddress(f"cannot resolve {host}")
        for address in addresses:
            self.check_address(host, address)
        return addresses

    def check_url(self, url: str) -> str | None:
        """A Chinese reason the URL is refused, or None. Resolves the host when private addresses are blocked."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "地址必须以 http:// 或 https:// 开头"
        if parts.username or parts.password:
            return "地址不能包含用户名或密码"
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return "端口无效"
        if self.block_private:
            try:
                self.resolve(parts.hostname, port)
            except BlockedAddress:
                return "不能使用内网、本机或无法解析的地址"
        return None


# --- connecting only to checked addresses -------------------------------------------------------------


def _guarded_connect(conn: HTTPConnection, policy: AddressPolicy) -> socket.socket:
    host = conn._dns_host  # type: ignore[attr-defined]  # urllib3's name for the host it resolves
    try:
        addresses = policy.resolve(host, conn.port)
    except BlockedAddress as exc:
        raise NewConnectionError(conn, str(exc)) from exc
    timeout = conn.timeout if isinstance(conn.timeout, int | float) else None
    last: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, conn.port), timeout, conn.source_address)
        except OSError as exc:
            last = exc
    raise NewConnectionError(conn, f"connection failed: {last}")


def _pool_classes(policy: AddressPolicy) -> dict[str, type]:
    """Connection pools whose connections connect only to addresses ``policy`` allows."""

    def guarded(connection: type[HTTPConnection]) -> type:
        return type(f"Guarded{connection.__name__}", (connection,),
                    {"_new_conn": lambda self: _guarded_connect(self, policy)})

    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": guarded(HTTPConnection)}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": guarded(HTTPSConnection)}),
    }


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self._policy)


def guarded_session(policy: AddressPolicy) -> requests.Session:
    """An HTTP session for webhook deliveries: every connection goes to an address ``policy`` allows;
    no proxies from the environment (they would connect on our behalf). Callers never follow redirects."""
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
