"""TLS for the probe: the handshake within a deadline, and what the server's certificate says.

The first handshake verifies the chain against the system's CAs (and FTPCODE_PROBE_CA_FILE); when that fails,
OpenSSL's reason is kept and the caller reconnects with a context that does not verify, so the rest of the
session can still be probed. The host name is checked here, against the name the user typed."""

from __future__ import annotations

import datetime
import functools
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field

from knowledge.probe.wire import Timeout, remaining

EXPIRING_DAYS = 14
OLD_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1")


@functools.lru_cache(maxsize=4)
def contexts(ca_file: str | None) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(verifying, lenient): the first checks the chain, the second accepts any certificate. Made once per
    process (loading the system's CA store takes tens of milliseconds) and shared by every probe."""
    verifying = ssl.create_default_context()
    if ca_file:
        verifying.load_verify_locations(cafile=ca_file)
    verifying.check_hostname = False  # checked by name_matches(), so the name is a finding, not a failure
    lenient = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    lenient.check_hostname = False
    lenient.verify_mode = ssl.CERT_NONE
    return verifying, lenient


def handshake(
    sock: socket.socket,
    context: ssl.SSLContext,
    host: str,
    deadline: float,
    session: ssl.SSLSession | None = None,
) -> ssl.SSLSocket:
    sock.settimeout(remaining(deadline))
    try:
        ipaddress.ip_address(host)
        server_name = None  # no SNI for an address
    except ValueError:
        server_name = host
    tls = context.wrap_socket(sock, server_hostname=server_name, do_handshake_on_connect=False, session=session)
    try:
        tls.do_handshake()
    except TimeoutError:
        raise Timeout from None
    return tls


def wrong_port(error: ssl.SSLError) -> bool:
    """The peer answered the ClientHello in plain text (an FTP greeting): not a TLS port."""
    text = str(error).lower()
    return any(w in text for w in ("wrong version number", "packet length too long", "record layer failure"))


@dataclass
class Certificate:
    subject: str
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    dns_names: list[str] = field(default_factory=list)
    ip_names: list[str] = field(default_factory=list)
    self_signed: bool = False

    @property
    def names(self) -> list[str]:
        return self.dns_names + self.ip_names

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        dns: list[str] = []
        ips: list[str] = []
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
            ips = [str(n) for n in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            common = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
            dns = [str(common[0].value)] if common else []
        self_signed = cert.issuer == cert.subject
        if self_signed:
            try:
                cert.verify_directly_issued_by(cert)
            except Exception:  # any failure to verify means it was not signed by its own key
                self_signed = False
        return cls(
            cert.subject.rfc4514_string(),
            cert.issuer.rfc4514_string(),
            cert.not_valid_before_utc,
            cert.not_valid_after_utc,
            dns,
            ips,
            self_signed,
        )

    def matches(self, host: str) -> bool:
        """RFC 6125: an address against the IP names; a name against the DNS names, `*.` for one label."""
        try:
            address = ipaddress.ip_address(host)
            return any(ipaddress.ip_address(n) == address for n in self.ip_names)
        except ValueError:
            pass
        host = host.lower().rstrip(".")
        for name in (n.lower().rstrip(".") for n in self.dns_names):
            if name == host:
                return True
            if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
                return True
        return False


@dataclass(frozen=True)
class Problem:
    finding: str
    severity: str
    values: dict[str, str]


def problems(
    cert: Certificate, host: str, verify_error: str | None, version: str | None, now: datetime.datetime
) -> list[Problem]:
    """Every reason a client would refuse (or soon refuse) this certificate, not only OpenSSL's first."""
    found: list[Problem] = []
    date = f"{cert.not_after:%Y-%m-%d %H:%M} UTC"
    if cert.not_after < now:
        found.append(Problem("tls-expired", "fail", {"date": date, "ago": _days(now - cert.not_after) + " ago"}))
    elif (cert.not_after - now).days < EXPIRING_DAYS:
        found.append(Problem("tls-expiring", "warn", {"date": date, "left": "in " + _days(cert.not_after - now)}))
    if cert.not_before > now:
        found.append(Problem("tls-not-yet-valid", "fail", {"date": f"{cert.not_before:%Y-%m-%d %H:%M} UTC"}))
    if verify_error and cert.self_signed:
        found.append(Problem("tls-self-signed", "fail", {"subject": cert.subject}))
    elif verify_error and not any(w in verify_error for w in ("expired", "not yet valid")):
        found.append(Problem("tls-untrusted", "fail", {"error": verify_error}))
    if not cert.matches(host):
        names = ", ".join(cert.names[:5]) or "no name"
        found.append(Problem("tls-hostname", "fail", {"names": names, "host": host}))
    if version in OLD_VERSIONS:
        found.append(Problem("tls-old-version", "warn", {"version": version}))
    return found


def _days(span: datetime.timedelta) -> str:
    return "less than a day" if span.days < 1 else f"{span.days} day{'s' if span.days > 1 else ''}"
