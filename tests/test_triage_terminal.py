"""The terminal driver, fed from io.StringIO."""

from __future__ import annotations

import io

from knowledge.triage import load_tree
from knowledge.triage.terminal import EXIT_BAD_START, EXIT_DONE, EXIT_NOT_FIXED, run_terminal


def run(entry_id: str, lines: list[str], prefilled: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = run_terminal(entry_id, io.StringIO("".join(line + "\n" for line in lines)), out, prefilled)
    return code, out.getvalue()


def test_numbered_choices_checklist_and_handoff() -> None:
    # protocol 1 (FTP), client "FileZilla", mode "active", network 2 (NAT), server vsftpd, then not fixed
    code, out = run("ftp-425", ["1", "FileZilla", "active", "2", "vsftpd", "n"])
    assert code == EXIT_NOT_FIXED
    assert "[1] Which protocol does the connection use?" in out
    assert "  1) FTP, no encryption - ftp://, port 21" in out
    assert "You can try:" in out and "Ask your server admin:" in out
    assert out.index("You can try:") < out.index("Ask your server admin:") < out.index("Did this fix it? [y/n]")
    handoff = out[out.index("Copy this to your server admin") :]
    assert "code 425" in handoff
    for answer in ("FTP, no encryption", "FileZilla", "Active", "A NAT or home router", "vsftpd"):
        assert answer in handoff
    assert "Make FileZilla use passive mode" in handoff


def test_fixed_ends_with_exit_zero_and_no_handoff() -> None:
    code, out = run("ftp-530", ["ftp", "winscp", "proftpd", "no", "no", "y"])
    assert code == EXIT_DONE
    assert "Glad it works now." in out
    assert "Copy this" not in out


def test_rubbish_is_explained_and_asked_again() -> None:
    code, out = run("ftp-530", ["banana", "1", "q"])
    assert "Sorry, I did not understand 'banana': type 1-5" in out
    assert out.count("[1] Which protocol") == 2
    assert "[2] Which program" in out
    assert code == EXIT_DONE and "Stopped." in out


def test_back_and_restart() -> None:
    _, out = run("ftp-530", ["1", "b", "sftp", "r", "q"])
    # asked protocol, went back to it, answered sftp (-> the SFTP question), restarted to protocol again
    assert out.count("[1] Which protocol") == 3
    assert "SFTP does not use FTP reply codes" in out
    assert "Starting over." in out
    _, out = run("ftp-530", ["b", "q"])
    assert "Nothing to go back to." in out


def test_end_of_input_stops_quietly() -> None:
    code, out = run("ftp-425", ["1"])
    assert code == EXIT_DONE
    assert "Stopped" in out


def test_prefilled_answers_are_not_asked_and_bad_ones_refused() -> None:
    tree = load_tree()
    everything = {q.id: q.options[0].id for q in tree.questions}
    code, out = run("ftp-425", ["y"], prefilled=everything)
    assert code == EXIT_DONE
    assert "Which protocol" not in out
    assert "You can try:" in out
    code, out = run("ftp-425", [], prefilled={"protocol": "carrier-pigeon"})
    assert code == EXIT_BAD_START
    assert "Cannot start the triage" in out


def test_back_from_the_checklist_question() -> None:
    everything = {"protocol": "ftp", "client": "curl", "server": "vsftpd", "anonymous": "yes"}
    code, out = run("ftp-530", ["no", "b", "no", "n"], prefilled=everything)
    # the only asked question (tls-demanded) is asked again after "b" at the y/n prompt
    assert out.count("[1] Does the reply mention encryption") == 2
    assert out.count("Did this fix it?") == 2
    assert code == EXIT_NOT_FIXED
