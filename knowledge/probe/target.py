"""What the user asked to probe: `HOST[:PORT]` (or an ftp://, ftps://, ftpes://, sftp:// address), and which
protocol to speak when they did not say."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from knowledge.probe.model import PROTOCOLS, Refused

DEFAULT_PORTS = {"ftp": 21, "ftpes": 21, "ftps": 990, "sftp": 22}
_PROTOCOL_OF_PORT = {21: "ftp", 990: "ftps", 22: "sftp"}
_NAMES = {"ftp": "FTP", "ftpes": "FTP over explicit TLS (FTPES)", "ftps": "implicit FTPS", "sftp": "SFTP"}
_SCHEME = re.compile(r"^(ftp|ftps|ftpes|sftp)://", re.I)
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
USAGE = "HOST[:PORT] [ftp|ftpes|ftps|sftp], for example ftp.example.com or sftp.example.com:2222"


@dataclass(frozen=True)
class Plan:
    """Where to connect and how. `try_tls`: plain FTP that asks for explicit TLS and carries on without it
    when the server refuses (what the probe does when it infers FTP from the port)."""

    host: str  # a lower-case name or an IP address (IPv6 without brackets)
    port: int
    protocol: str
    try_tls: bool
    inferred: bool
    note: str

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _bad(text: str) -> Refused:
    shown = text if len(text) <= 80 and text.isprintable() else "that"
    return Refused("bad-target", f"I cannot read {shown!r} as a server: give {USAGE}.")


def split_host_port(text: str) -> tuple[str, int | None, str | None]:
    """(host, port or None, scheme or None) from what the user typed. Raises Refused on anything else."""
    raw = text.strip()
    scheme = None
    m = _SCHEME.match(raw)
    if m:
        scheme = m.group(1).lower()
        raw = raw[m.end() :].split("/", 1)[0]
    if "@" in raw:
        raise Refused(
            "bad-target",
            "Leave the user name and password out: I log in anonymously, or with the credentials your admin "
            "keeps in FTPCODE_PROBE_CREDENTIALS.",
        )
    if not raw or any(c.isspace() for c in raw):
        raise _bad(text)
    port_text = None
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise _bad(text)
        port_text = rest[1:] if rest else None
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    else:
        host = raw  # a name, an IPv4 address, or a bare IPv6 address (no port)
    port = None
    if port_text is not None:
        if not port_text.isdecimal() or not 1 <= int(port_text) <= 65535:
            raise _bad(text)
        port = int(port_text)
    return normalise_host(host, text), port, scheme


def normalise_host(host: str, original: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise _bad(original) from None
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise _bad(original)
    return name


def plan(text: str, protocol: str | None = None) -> Plan:
    """The probe's plan for `text` ("HOST[:PORT]" or an address) and an optional protocol; the note says how
    the protocol was chosen, so the user can see what was inferred."""
    host, port, scheme = split_host_port(text)
    if protocol is not None and protocol.lower() not in PROTOCOLS:
        raise Refused("bad-target", f"{protocol!r} is not a protocol I probe: say ftp, ftpes, ftps or sftp.")
    chosen = protocol.lower() if protocol else scheme
    if chosen:
        port = port or DEFAULT_PORTS[chosen]
        how = "as asked" if protocol else f"from the {scheme}:// address"
        return Plan(host, port, chosen, False, False, f"{_NAMES[chosen]}, {how}")
    if port is None:
        return Plan(
            host, 21, "ftp", True, True, "no port given: port 21, FTP, then explicit TLS if the server offers it"
        )
    inferred = _PROTOCOL_OF_PORT.get(port)
    if inferred == "ftps":
        return Plan(host, port, "ftps", False, True, "port 990: implicit FTPS (say ftp, ftpes or sftp to change it)")
    if inferred == "sftp":
        return Plan(host, port, "sftp", False, True, "port 22: SFTP (say ftp, ftpes or ftps to change it)")
    if inferred == "ftp":
        return Plan(host, port, "ftp", True, True, "port 21: FTP, then explicit TLS if the server offers it")
    note = f"port {port} is no standard port: FTP, then explicit TLS if offered (say ftps or sftp to change it)"
    return Plan(host, port, "ftp", True, True, note)
