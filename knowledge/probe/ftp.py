"""The FTP and FTPS probe: greeting, FEAT, AUTH TLS and the certificate, login, PWD, PASV and EPSV, the data
connection and LIST, QUIT; then, after explicit TLS, whether the server would have let a login start without it.

The data connection always goes to the address of the control connection, at the port the server announced:
the address in a 227 reply is decoded and judged, never connected to (a server cannot steer the probe to
another host)."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import re
import socket
import ssl
import time

from knowledge.logscan.ftp import TLS_WORDING, decode_pasv
from knowledge.logscan.summary import server_of_greeting
from knowledge.probe import tls
from knowledge.probe.session import Session, waited
from knowledge.probe.wire import (
    MAX_LISTING_BYTES,
    Closed,
    Flood,
    Reply,
    Timeout,
    Wire,
    connect_error,
    open_tcp,
    read_until_closed,
)

ANONYMOUS_PASSWORD = "probe@ftpcode.invalid"  # RFC 1635: an e-mail-like string; .invalid never resolves
_EPSV_PORT = re.compile(r"\(([!-~])\1\1(\d{1,5})\1\)")
_IO_ERRORS = (Timeout, Flood, Closed, OSError)


class FtpProbe(Session):
    wire: Wire

    def run(self) -> None:
        verifying, lenient = tls.contexts(self.config.ca_file)
        self.verifying, self.lenient = verifying, lenient
        self.tls_mode: str | None = None
        self.tls_context: ssl.SSLContext | None = None
        self.prot_p = False
        sock = self.connect()
        if sock is None:
            return
        self.wire = Wire(sock)
        try:
            if self.plan.protocol == "ftps" and not self._start_tls("tls", time.perf_counter()):
                return
            if not self._greeting():
                return
            offers_tls = self._feat()
            go_on = True
            if self.plan.protocol == "ftpes" or self.plan.try_tls:
                go_on = self._auth_tls()
            elif offers_tls:
                self.record.find("tls-offered-not-used", "feat", "warn")
            if go_on and self._login():
                self._pwd()
                port = self._passive()
                if port is not None:
                    data = self._data_connection(port)
                    if data is not None:
                        self._list(data)
            self._quit()
        except _Stop:
            return  # the control connection is gone: no QUIT, no second connection
        finally:
            self.wire.close()
        if self.tls_mode == "explicit":
            self._tls_demanded()

    # --- connection set-up ------------------------------------------------------------------------------
    def _greeting(self) -> bool:
        if self.out_of_time("greeting"):
            return False
        started = time.perf_counter()
        try:
            reply = self.wire.read_reply(self.budget.deadline())
            while reply.code == "120":  # "service ready in nnn minutes": the 220 follows
                reply = self.wire.read_reply(self.budget.deadline())
        except Timeout:
            seconds = waited(started)
            checked = self.budget.left() > 0.05 and self.plan.protocol != "ftps"
            if checked and self._speaks_tls():
                shown = f"no greeting within {seconds} s; a second connection completed a TLS handshake"
                self.record.step("greeting", "fail", started, shown)
                self.record.find("implicit-tls-port", "greeting", target=self.plan.target)
            else:
                shown = f"no greeting within {seconds} s" + ("; no TLS handshake either" if checked else "")
                self.record.step("greeting", "fail", started, shown)
                self.record.find("no-greeting", "greeting", seconds=seconds)
            return False
        except Closed:
            self.record.step("greeting", "fail", started, "the server closed the connection without a greeting")
            self.record.find("closed-before-greeting", "greeting")
            return False
        except _IO_ERRORS as exc:
            self.io_failure("greeting", started, exc, "the greeting")
            return False
        self.server = reply.first
        if reply.code is None:
            self.record.step("greeting", "fail", started, "not an FTP greeting", reply=reply.first)
            if reply.first.startswith("SSH-"):
                self.facts["protocol"] = "sftp"
                self.record.find("wrong-protocol-ssh-banner", "greeting", banner=reply.first, target=self.plan.target)
            else:
                self.record.find("not-ftp", "greeting", reply=reply.first, target=self.plan.target)
            return False
        if reply.code == "220":
            software = server_of_greeting(reply.text)
            if software:
                self.facts["server"] = software
            self.record.step("greeting", "ok", started, reply.first, reply=reply.text)
            return True
        self.record.step("greeting", "fail", started, reply.first, reply=reply.text)
        if reply.code == "421":
            self.record.find("too-many-connections", "greeting", reply=reply.first)
        else:
            self.record.find("greeting-refused", "greeting", code=reply.code, reply=reply.first)
        return False

    def _speaks_tls(self) -> bool:
        """Whether a fresh connection to the same port completes a TLS handshake (implicit FTPS)."""
        assert self.address is not None
        try:
            with open_tcp(self.address, self.plan.port, self.budget.deadline()) as sock:
                tls.handshake(sock, self.lenient, self.plan.host, self.budget.deadline()).close()
            return True
        except (OSError, Timeout, ValueError):
            return False

    def _feat(self) -> bool:
        """The FEAT step; True when the server lists AUTH TLS."""
        if self.out_of_time("feat"):
            return False
        started = time.perf_counter()
        try:
            reply = self.wire.command("FEAT", self.budget.deadline())
        except _IO_ERRORS as exc:
            self.io_failure("feat", started, exc, "FEAT", "FEAT")
            raise _Stop from None
        if reply.code != "211":
            shown = f"{reply.first} (an older server: the probe goes on)"
            self.record.step("feat", "warn", started, shown, command="FEAT", reply=reply.text)
            return False
        features = [line.strip() for line in reply.text.split("\n")[1:-1] if line.strip()]
        offers_tls = any(f.upper().startswith("AUTH") and "TLS" in f.upper() for f in features)
        names = [f if f.upper().startswith(("AUTH", "PROT")) else f.split()[0] for f in features]
        detail = ", ".join(names[:16]) + (" …" if len(names) > 16 else "") or "no features listed"
        status = "warn" if offers_tls and self.plan.protocol == "ftp" and not self.plan.try_tls else "ok"
        self.record.step("feat", status, started, detail, command="FEAT", reply=reply.text)
        return offers_tls

    # --- TLS ----------------------------------------------------------------------------------------------
    def _auth_tls(self) -> bool:
        """AUTH TLS, then the handshake, the certificate and PBSZ/PROT. False when the session cannot go on."""
        if self.out_of_time("auth-tls"):
            return False
        started = time.perf_counter()
        try:
            reply = self.wire.command("AUTH TLS", self.budget.deadline())
        except _IO_ERRORS as exc:
            self.io_failure("auth-tls", started, exc, "AUTH TLS", "AUTH TLS")
            raise _Stop from None
        if reply.code == "234":
            if not self._start_tls("auth-tls", started, reply):
                raise _Stop  # the socket went to TLS and broke: nothing more can be said on it
            return self._protect()
        code = reply.code or "500"
        if self.plan.protocol == "ftpes":
            self.record.step("auth-tls", "fail", started, reply.first, command="AUTH TLS", reply=reply.text)
            self.record.find("tls-refused", "auth-tls", code=code, reply=reply.first)
            self.facts["tls-settings"] = "handshake"
            return False
        shown = f"{reply.first} (the probe goes on without TLS)"
        self.record.step("auth-tls", "warn", started, shown, command="AUTH TLS", reply=reply.text)
        self.record.find("tls-not-offered", "auth-tls", "warn", code=code, reply=reply.first)
        return True

    def _start_tls(self, step: str, started: float, reply: Reply | None = None) -> bool:
        """The handshake on the control connection. A certificate that does not verify is kept as a finding
        and the connection opened again without verification, so the rest can still be probed."""
        command = "AUTH TLS" if reply else None
        verify_error = None
        try:
            sock = tls.handshake(self.wire.sock, self.verifying, self.plan.host, self.budget.deadline())
            self.tls_context = self.verifying
        except ssl.SSLCertVerificationError as exc:
            verify_error = str(exc.verify_message or exc.reason or exc)
            sock = self._reopen_lenient()
            if sock is None:
                self.record.step(step, "fail", started, "TLS came up only once: the server refused to reconnect")
                self.record.find("connection-lost", step, when="when the probe reconnected", how="refused")
                return False
            self.tls_context = self.lenient
        except ssl.SSLError as exc:
            error = str(exc.reason or exc).replace("_", " ").lower()
            self.record.step(step, "fail", started, f"handshake failed: {error}", command=command)
            if tls.wrong_port(exc):
                self.record.find("tls-wrong-version", step, error=error, target=self.plan.target)
            else:
                self.record.find("tls-handshake", step, error=error)
            self.facts["tls-settings"] = "handshake"
            return False
        except _IO_ERRORS as exc:
            self.io_failure(step, started, exc, "the TLS handshake", command)
            return False
        self.wire = Wire(sock)
        self.tls_mode = "implicit" if self.plan.protocol == "ftps" else "explicit"
        cipher = sock.cipher()
        detail = f"{sock.version()}, {cipher[0] if cipher else 'no cipher'}"
        if reply is not None:
            detail = f"{reply.first} ({detail})"
        self.record.step(step, "ok", started, detail, command=command, reply=reply.text if reply else None)
        self._certificate(sock, verify_error)
        return True

    def _reopen_lenient(self) -> ssl.SSLSocket | None:
        """The same connection again, up to TLS, accepting any certificate."""
        assert self.address is not None
        self.wire.close()
        try:
            sock = open_tcp(self.address, self.plan.port, self.budget.deadline())
            if self.plan.protocol != "ftps":
                wire = Wire(sock)
                if not wire.read_reply(self.budget.deadline()).ok("220"):
                    sock.close()
                    return None
                if not wire.command("AUTH TLS", self.budget.deadline()).ok("234"):
                    sock.close()
                    return None
            return tls.handshake(sock, self.lenient, self.plan.host, self.budget.deadline())
        except (*_IO_ERRORS, ssl.SSLError):
            return None

    def _certificate(self, sock: ssl.SSLSocket, verify_error: str | None) -> None:
        started = time.perf_counter()
        der = sock.getpeercert(binary_form=True)
        if not der:
            self.record.step("certificate", "warn", started, "the server sent no certificate")
            return
        cert = tls.Certificate.from_der(der)
        now = datetime.datetime.now(datetime.UTC)
        problems = tls.problems(cert, self.plan.host, verify_error, sock.version(), now)
        chain = "chain verified" if verify_error is None else f"chain not verified: {verify_error}"
        names = ", ".join(cert.names[:4]) or "none"
        detail = (
            f"{cert.subject}, issued by {cert.issuer}, valid until {cert.not_after:%Y-%m-%d}; names: {names}; {chain}"
        )
        status = "fail" if any(p.severity == "fail" for p in problems) else "warn" if problems else "ok"
        self.record.step("certificate", status, started, detail)
        for problem in problems:
            self.record.find(problem.finding, "certificate", problem.severity, **problem.values)
        if status == "fail":
            self.facts["tls-settings"] = "handshake"

    def _protect(self) -> bool:
        """PBSZ 0 and PROT P: an encrypted data connection."""
        if self.out_of_time("prot"):
            return False
        started = time.perf_counter()
        try:
            self.wire.command("PBSZ 0", self.budget.deadline())
            reply = self.wire.command("PROT P", self.budget.deadline())
        except _IO_ERRORS as exc:
            self.io_failure("prot", started, exc, "PBSZ/PROT P", "PROT P")
            return False
        if reply.ok("2"):
            self.prot_p = True
            self.record.step(
                "prot", "ok", started, f"{reply.first} (the data connection is encrypted)", command="PROT P"
            )
            return True
        shown = f"{reply.first} (listings and files would cross the network unencrypted)"
        self.record.step("prot", "warn", started, shown, command="PROT P", reply=reply.text)
        self.record.find("prot-refused", "prot", "warn", command="PROT P", code=reply.code or "500", reply=reply.first)
        return True

    # --- the session ------------------------------------------------------------------------------------
    def _login(self) -> bool:
        if self.out_of_time("login"):
            return False
        started = time.perf_counter()
        creds = self.credentials
        plain_asked = self.plan.protocol == "ftp" and not self.plan.inferred
        if creds is not None and self.tls_mode is None and not plain_asked:
            self.record.find("credentials-held-back", "login", "warn")
            creds = None
        user, password = (creds.user, creds.password) if creds else ("anonymous", ANONYMOUS_PASSWORD)
        shown_user = "USER ****" if creds else "USER anonymous"
        self.facts["anonymous"] = "no" if creds else "yes"
        command = shown_user
        try:
            reply = self.wire.command(f"USER {user}", self.budget.deadline())
            if reply.code == "331":
                command = "PASS ****"
                reply = self.wire.command(f"PASS {password}", self.budget.deadline())
        except _IO_ERRORS as exc:
            self.io_failure("login", started, exc, command.split()[0], command)
            raise _Stop from None
        who = "with the stored credentials" if creds else "anonymously"
        if reply.code in ("230", "202"):
            self.record.step("login", "ok", started, f"logged in {who}: {reply.first}", command=command)
            return True
        self.record.step("login", "fail", started, reply.first, command=command, reply=reply.text)
        code = reply.code or "530"
        if self.tls_mode is None and TLS_WORDING.search(reply.text) and code[0] in "45":
            self.facts["tls-demanded"] = "yes"
            self.facts["tls-settings"] = "tls-required"
            self.record.find("tls-required", "login", command=command, code=code, reply=reply.first)
        elif code == "421":
            self.record.find("too-many-connections", "login", reply=reply.first)
        elif creds is None:
            self.record.find("anonymous-refused", "login", code=code, reply=reply.first)
        else:
            self.facts["tls-demanded"] = "no"
            self.record.find("login-failed", "login", code=code, reply=reply.first)
        return False

    def _pwd(self) -> None:
        if self.out_of_time("pwd"):
            raise _Stop
        started = time.perf_counter()
        try:
            reply = self.wire.command("PWD", self.budget.deadline())
        except _IO_ERRORS as exc:
            self.io_failure("pwd", started, exc, "PWD", "PWD")
            raise _Stop from None
        status = "ok" if reply.code == "257" else "warn"
        self.record.step("pwd", status, started, reply.first, command="PWD", reply=reply.text)

    def _passive(self) -> int | None:
        """PASV and EPSV: the port for the data connection (EPSV's, else PASV's), None when neither works."""
        if self.out_of_time("pasv"):
            return None
        started = time.perf_counter()
        try:
            pasv = self.wire.command("PASV", self.budget.deadline())
        except _IO_ERRORS as exc:
            self.io_failure("pasv", started, exc, "PASV", "PASV")
            raise _Stop from None
        pasv_port = self._judge_pasv(pasv, started)
        started = time.perf_counter()
        try:
            epsv = self.wire.command("EPSV", self.budget.deadline())
        except _IO_ERRORS as exc:
            self.io_failure("epsv", started, exc, "EPSV", "EPSV")
            raise _Stop from None
        m = _EPSV_PORT.search(epsv.text) if epsv.code == "229" else None
        if m and 0 < int(m.group(2)) < 65536:
            self.record.step("epsv", "ok", started, f"{epsv.first} (port {m.group(2)})", command="EPSV")
            if pasv_port is None:
                self.facts["passive-address"] = "epsv"
            return int(m.group(2))
        if pasv_port is not None:
            shown = f"{epsv.first} (clients fall back to PASV)"
            self.record.step("epsv", "warn", started, shown, command="EPSV", reply=epsv.text)
            return pasv_port
        self.record.step("epsv", "fail", started, epsv.first, command="EPSV", reply=epsv.text)
        refused = pasv if not pasv.ok("227") else epsv
        self.record.find("passive-refused", "epsv", code=refused.code or "500", reply=refused.first)
        return None

    def _judge_pasv(self, reply: Reply, started: float) -> int | None:
        decoded = decode_pasv(reply.text) if reply.code == "227" else None
        if decoded is None:
            self.record.step("pasv", "warn", started, reply.first, command="PASV", reply=reply.text)
            return None
        announced, port = decoded
        control = self.address or ""
        values = {"address": announced, "port": port, "control": control}
        if announced == "0.0.0.0":
            status, finding = "fail", "passive-zero-address"
            self.facts["passive-address"] = "private"
        elif announced != control and not ipaddress.ip_address(announced).is_global:
            status, finding = "fail", "passive-private-address"
            self.facts["passive-address"] = "private"
        elif announced != control:
            status, finding = "warn", "passive-other-address"
            self.facts["passive-address"] = "public"
        else:
            status, finding = "ok", None  # the control connection's own address: right for any client
        detail = f"{reply.first} (announced {announced}:{port}"
        detail += f", not the control connection's address {control})" if finding else ")"
        self.record.step("pasv", status, started, detail, command="PASV", reply=reply.text)
        if finding:
            self.record.find(finding, "pasv", "warn" if status == "warn" else "fail", **values)
        return port

    def _data_connection(self, port: int) -> socket.socket | None:
        if self.out_of_time("data-connection"):
            return None
        assert self.address is not None
        started = time.perf_counter()
        self.facts["mode"] = "passive"
        try:
            sock = open_tcp(self.address, port, self.budget.deadline())
        except (OSError, Timeout) as exc:
            why = connect_error(exc)
            self.record.step("data-connection", "fail", started, f"{self.address}:{port} {why}")
            self.record.find("data-connection-failed", "data-connection", address=self.address, port=port, why=why)
            return None
        self.record.step("data-connection", "ok", started, f"connected to {self.address}:{port}")
        return sock

    def _list(self, data: socket.socket) -> None:
        if self.out_of_time("list"):
            data.close()
            return
        started = time.perf_counter()
        deadline = self.budget.deadline()
        try:
            reply = self.wire.command("LIST", deadline)
        except _IO_ERRORS as exc:
            data.close()
            self.io_failure("list", started, exc, "LIST", "LIST")
            raise _Stop from None
        if not reply.ok("1"):
            data.close()
            self._list_refused(started, reply)
            return
        try:
            if self.prot_p:
                assert isinstance(self.wire.sock, ssl.SSLSocket) and self.tls_context is not None
                session = self.wire.sock.session
                data = tls.handshake(data, self.tls_context, self.plan.host, deadline, session=session)
            body, cut = read_until_closed(data, deadline)
        except ssl.SSLError as exc:
            data.close()
            error = str(exc.reason or exc).replace("_", " ").lower()
            self.record.step("list", "fail", started, f"TLS on the data connection failed: {error}", command="LIST")
            self.record.find("data-tls-failed", "list", error=error)
            self.facts["tls-settings"] = "session-reuse"
            return
        except _IO_ERRORS as exc:
            data.close()
            self.io_failure("list", started, exc, "the listing", "LIST")
            return
        data.close()
        try:
            final = self.wire.read_reply(deadline)
        except _IO_ERRORS as exc:
            self.io_failure("list", started, exc, "the end of the listing", "LIST")
            raise _Stop from None
        lines = body.count(b"\n")
        size = f"{lines} line{'s' if lines != 1 else ''}, {len(body):,} bytes"
        if cut:
            size += f" (read up to {MAX_LISTING_BYTES // 1024} KiB)"
        if final.ok("2") or cut:
            self.record.step("list", "ok", started, f"{size}; {final.first}", command="LIST")
            return
        self.record.step("list", "fail", started, f"{size}; {final.first}", command="LIST", reply=final.text)
        self.record.find("transfer-failed", "list", code=final.code or "426", reply=final.first)

    def _list_refused(self, started: float, reply: Reply) -> None:
        self.record.step("list", "fail", started, reply.first, command="LIST", reply=reply.text)
        code = reply.code or "500"
        if code in ("425", "426"):
            assert self.address is not None
            port_note = {"address": self.address, "port": "(passive)", "why": f"the server said {reply.first}"}
            self.record.find("data-connection-failed", "list", **port_note)
        elif code == "522":
            self.record.find("data-tls-failed", "list", error=reply.first)
            self.facts["tls-settings"] = "session-reuse"
        elif TLS_WORDING.search(reply.text) and self.tls_mode is None:
            self.record.find("tls-required", "list", command="LIST", code=code, reply=reply.first)
        else:
            self.record.find("list-refused", "list", command="LIST", code=code, reply=reply.first)

    def _quit(self) -> None:
        started = time.perf_counter()
        try:
            reply = self.wire.command("QUIT", self.budget.deadline(min(2.0, self.config.step_timeout)))
        except Closed:
            self.record.step("quit", "ok", started, "the server closed the connection", command="QUIT")
            return
        except _IO_ERRORS as exc:
            self.record.step("quit", "warn", started, f"no reply to QUIT ({connect_error(exc)})", command="QUIT")
            return
        self.record.step("quit", "ok" if reply.ok("2") else "warn", started, reply.first, command="QUIT")

    def _tls_demanded(self) -> None:
        """A second, plain connection: does the server let a login start without TLS?"""
        if self.budget.left() < 0.5:
            return
        assert self.address is not None
        started = time.perf_counter()
        deadline = self.budget.deadline()
        try:
            with open_tcp(self.address, self.plan.port, deadline) as sock:
                wire = Wire(sock)
                if not wire.read_reply(deadline).ok("220"):
                    raise Closed
                reply = wire.command("USER anonymous", deadline)
                with contextlib.suppress(_IO_ERRORS):
                    wire.command("QUIT", deadline)
        except _IO_ERRORS as exc:
            self.record.step("tls-demanded", "warn", started, f"could not check ({connect_error(exc)})")
            return
        if reply.code in ("230", "331"):
            self.facts["tls-demanded"] = "no"
            detail = f"no: USER anonymous without TLS got {reply.first}"
            self.record.step("tls-demanded", "warn", started, detail, command="USER anonymous", reply=reply.text)
            self.record.find("tls-not-demanded", "tls-demanded", "warn", reply=reply.first)
        elif TLS_WORDING.search(reply.text):
            self.facts["tls-demanded"] = "yes"
            detail = f"yes: USER anonymous without TLS got {reply.first}"
            self.record.step("tls-demanded", "ok", started, detail, command="USER anonymous", reply=reply.text)
        else:
            detail = f"unclear: USER anonymous without TLS got {reply.first}"
            self.record.step("tls-demanded", "ok", started, detail, command="USER anonymous", reply=reply.text)


class _Stop(Exception):
    """The control connection is gone: the steps after this one cannot run."""
