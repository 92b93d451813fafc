"""FTPCODE_PROBE_ALLOW: which servers the probe may reach, and the check that every address a name resolves
to is one of them.

Entries, comma-separated, each optionally with `:PORT` (IPv6 in brackets: `[2001:db8::/32]:21`):
  ftp.example.com     that host name
  .example.com        any name under example.com (not example.com itself)
  10.1.0.0/16, 10.1.2.3, 2001:db8::/32   addresses in that range
An entry without a port allows ports 21, 22 and 990 only.

A name is resolved once and every address it resolves to is checked; the probe then connects to those
addresses only, so a second lookup cannot steer it elsewhere (DNS rebinding). A name on the list reaches
public addresses; a private, loopback or link-local address must also be inside a listed range. A name not on
the list is allowed only when every address it resolves to is inside a listed range. Every refusal has the
same wording, so a refusal tells nothing about what a name resolves to or whether it exists.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from knowledge.probe.model import Refused
from knowledge.probe.target import normalise_host

DEFAULT_PORTS = frozenset((21, 22, 990))
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AllowListError(ValueError):
    """A malformed FTPCODE_PROBE_ALLOW: names the entry, which is the admin's own text."""


class ResolveError(Exception):
    """The name did not resolve: `reason` is 'not-found' or 'timeout'."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason


# host, port, timeout in seconds -> the addresses, in the resolver's order. Raises ResolveError.
Resolver = Callable[[str, int, float], list[str]]

# getaddrinfo cannot be interrupted: it runs in these threads, and a lookup that outlives its timeout is left
# to finish on its own (glibc gives up after resolv.conf's timeout and attempts).
_RESOLVER_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe-resolve")


def system_resolve(host: str, port: int, timeout: float) -> list[str]:
    future = _RESOLVER_THREADS.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout:
        raise ResolveError("timeout", f"no answer from DNS within {timeout:g} s") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveError("not-found", getattr(exc, "strerror", None) or str(exc)) from None
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


@dataclass(frozen=True)
class Entry:
    kind: str  # "name", "suffix" or "range"
    value: str | IPNetwork
    ports: frozenset[int]


def _split_port(text: str) -> tuple[str, frozenset[int]]:
    if text.startswith("["):
        inner, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise AllowListError(
                f"FTPCODE_PROBE_ALLOW: cannot read {text!r} (IPv6 goes in brackets: [2001:db8::/32]:21)"
            )
        return inner, _port(rest[1:], text) if rest else DEFAULT_PORTS
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, _port(port, text)
    return text, DEFAULT_PORTS


def _port(text: str, entry: str) -> frozenset[int]:
    if not text.isdecimal() or not 1 <= int(text) <= 65535:
        raise AllowListError(f"FTPCODE_PROBE_ALLOW: {entry!r} has no valid port after the colon")
    return frozenset((int(text),))


def _entry(text: str) -> Entry:
    host, ports = _split_port(text)
    try:
        return Entry("range", ipaddress.ip_network(host, strict=False), ports)
    except ValueError:
        pass
    if "/" in host or not host.strip("."):
        raise AllowListError(f"FTPCODE_PROBE_ALLOW: {text!r} is neither a host name, a .suffix nor an address range")
    try:
        name = normalise_host(host.lstrip("."), text)
    except Refused:
        raise AllowListError(f"FTPCODE_PROBE_ALLOW: {text!r} is not a valid host name") from None
    return Entry("suffix" if host.startswith(".") else "name", name, ports)


def _usable(address: IPAddress) -> IPAddress | None:
    """The address to check (an IPv4-mapped IPv6 address as IPv4), or None for one never probed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified or address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return None
    return address


class AllowList:
    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        return cls([_entry(part.strip()) for part in (text or "").split(",") if part.strip()])

    def __bool__(self) -> bool:
        return bool(self.entries)

    def name_listed(self, name: str, port: int) -> bool:
        for e in self.entries:
            if port not in e.ports or not isinstance(e.value, str):
                continue
            if (e.kind == "name" and name == e.value) or (e.kind == "suffix" and name.endswith("." + e.value)):
                return True
        return False

    def in_range(self, address: IPAddress, port: int) -> bool:
        return any(
            e.kind == "range" and port in e.ports and address.version == e.value.version and address in e.value  # type: ignore[union-attr]
            for e in self.entries
        )

    def address_allowed(self, text: str, port: int, *, by_name: bool) -> bool:
        try:
            address = _usable(ipaddress.ip_address(text))
        except ValueError:
            return False
        if address is None:
            return False
        return self.in_range(address, port) or (by_name and address.is_global)

    def screen(self, host: str, port: int) -> None:
        """Refuses, without a DNS lookup, what the list cannot allow whatever a name resolves to."""
        if not self.entries:
            raise Refused(
                "off", "The server probe is off here: ask your admin to list the servers it may test in "
                "FTPCODE_PROBE_ALLOW."
            )  # fmt: skip
        if _is_address(host):
            if not self.address_allowed(host, port, by_name=False):
                raise _refusal(host, port)
        elif not self.name_listed(host, port) and not any(e.kind == "range" for e in self.entries):
            raise _refusal(host, port)

    def check(self, host: str, port: int, resolve: Resolver, timeout: float) -> list[str]:
        """The addresses the probe may connect to for host:port; raises Refused when the list forbids it,
        ResolveError when a listed name does not resolve (a probe result, not a refusal)."""
        self.screen(host, port)
        if _is_address(host):
            return [host]
        refusal = _refusal(host, port)
        listed = self.name_listed(host, port)
        try:
            addresses = resolve(host, port, timeout)
        except ResolveError:
            if listed:
                raise
            raise refusal from None  # the same answer as for a name that exists: nothing learnt about DNS
        if not addresses or not all(self.address_allowed(a, port, by_name=listed) for a in addresses):
            raise refusal
        return addresses


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _refusal(host: str, port: int) -> Refused:
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Refused(
        "not-allowed",
        f"{shown} is not on the list of servers I may test; ask your admin to add it to FTPCODE_PROBE_ALLOW.",
    )
