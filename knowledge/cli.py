"""The `ftpcode` command line: the same answers as the Slack bot, in a terminal."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from knowledge import answer as answers
from knowledge.base import KnowledgeError
from knowledge.lookup import LookupResult, finder

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse, json, shutil and typing only where needed: argparse and json alone took ~5 ms
    import argparse
    from collections.abc import Sequence
    from typing import TextIO

USAGE = """\
ftpcode QUERY...            explain a code, a name, a reply line or an error message
ftpcode list [FILTER]       the table: 1xx..6xx, ftp, winsock, sftp, client, curl
ftpcode triage CODE         a guided troubleshooting conversation for CODE
ftpcode scan FILE | -       read a client or server log and find what failed
ftpcode probe HOST[:PORT]   test an allowed server step by step [--protocol ftp|ftpes|ftps|sftp]
ftpcode stats               what the Slack bot was asked, votes, gaps, triages [--database URL] [--days N]
ftpcode kb build            check the knowledge files and rebuild the snapshot read at start
ftpcode kb check [DIR]      check the knowledge base, or a folder of site notes against it"""

EPILOG = """\
examples:
  ftpcode 425
  ftpcode 530 when I log in
  ftpcode "Response: 550 Permission denied"
  ftpcode winsock 10061        ftpcode ECONNREFUSED      ftpcode sftp 3
  ftpcode passive mode         ftpcode list 4xx          ftpcode --json 425
  ftpcode triage 425           ftpcode scan filezilla.log
  ftpcode probe ftp.example.com          ftpcode probe sftp.example.com:2222 --protocol sftp
  ftpcode stats --database sqlite:///data/ftpcode.sqlite3 --days 7
  ftpcode kb check knowledge/site-example

exit status: 0 found, 1 nothing matched, 2 usage error.
probe: 0 every step passed, 1 a step failed, 2 usage error or refused."""


class Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def title(self, text: str) -> str:
        return self._wrap("1;36", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)


_SPACES_TO_SPACE = str.maketrans("\t\n\x0b\x0c\r", "     ")


def wrap(text: str, width: int, first: str = "", rest: str = "") -> str:
    """textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest, break_long_words=False,
    break_on_hyphens=False), without importing textwrap and re: the two were ~8 ms of a start in a venv. A word
    longer than a line stands alone on its line and a hyphen is not a break: URLs and options stay whole."""
    chunks: list[str] = []  # words and the runs of spaces between them, as textwrap cuts the text
    for index, word in enumerate(text.expandtabs().translate(_SPACES_TO_SPACE).split(" ")):
        if index:
            if chunks and chunks[-1][0] == " ":
                chunks[-1] += " "
            else:
                chunks.append(" ")
        if word:
            chunks.append(word)
    chunks.reverse()
    lines: list[str] = []
    while chunks:
        indent = rest if lines else first
        room = width - len(indent)
        if lines and not chunks[-1].strip():
            del chunks[-1]
        line: list[str] = []
        used = 0
        while chunks and used + len(chunks[-1]) <= room:
            used += len(chunks[-1])
            line.append(chunks.pop())
        if chunks and not line and len(chunks[-1]) > room:
            line.append(chunks.pop())
        if line and not line[-1].strip():
            del line[-1]
        if line:
            lines.append(indent + "".join(line))
    return "\n".join(lines)


def _use_colour(stream: TextIO, flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _width() -> int:
    """shutil.get_terminal_size's columns (COLUMNS, else the terminal, else 100), kept within 40..100."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(40, min(columns or 100, 100))


QUOTED_CHARS = 60


def _quoted(query: str) -> str:
    """The query on one line, cut: a 4,000-character paste is not echoed back whole."""
    line = " ".join(query.split())
    return line if len(line) <= QUOTED_CHARS else line[: QUOTED_CHARS - 1] + "…"


def render_result(result: LookupResult, style: Style, width: int) -> str:
    """The whole answer as terminal text: short at the top, deeper below."""
    out: list[str] = [f"Note: {n}" for n in result.notes]
    if not result.matches:
        asked = f"Nothing found for “{_quoted(result.query)}”." if result.query else "Ask about a code or a message."
        out.append(asked)
        out.append("Try: " + " · ".join(result.suggestions))
        return "\n".join(out) + "\n"
    if len(result.matches) > 1:
        names = ", ".join(answers.label(m.entry) for m in result.matches)
        out.append(style.dim(f"{len(result.matches)} readings: {names}") + "\n")
    by_id = finder().kb.by_id
    for match in result.matches:
        out.append(render_answer(answers.build(match), by_id, style, width))
    return "\n".join(out)


def render_answer(answer: answers.Answer, by_id: dict, style: Style, width: int) -> str:
    lines = [style.bold(answer.heading), wrap(answer.summary, width)]
    if answer.try_first:
        lines.append(wrap(f"{style.bold('Try first:')} {answer.try_first}", width))
    lines.append("")
    for d in answer.digits:
        text = f"{d.digit}  {d.short:<30}{d.meaning}"
        lines.append(wrap(text, width, "  ", " " * 35))
    if answer.digits:
        lines.append("")
    for section in answer.sections:
        lines.append(style.title(section.title))
        first, rest = ("  • ", "    ") if section.bulleted else ("  ", "  ")
        lines += [wrap(item, width, first, rest) for item in section.items]
        lines.append("")
    related = answers.related_labels(answer.entry, by_id)
    if related:
        see_also = "See also: " + ", ".join(f"{lbl} (ftpcode {q})" for q, lbl in related)
        lines.append(style.dim(wrap(see_also, width)))
        lines.append("")
    return "\n".join(lines)


def _print_json(document: object, out: TextIO) -> None:
    import json

    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")


def cmd_list(args: Sequence[str], as_json: bool, out: TextIO) -> int:
    from knowledge import listing

    try:
        _, entries = listing.select(finder().kb, " ".join(args))
    except listing.UnknownFilter as exc:
        print(f"ftpcode list: {exc}", file=sys.stderr)
        return 2
    wanted = " ".join(args).strip().lower()
    if as_json:
        rows = [{"id": e.id, "kind": e.kind, "code": e.code, "title": e.title} for e in entries]
        _print_json({"filter": wanted or None, "entries": rows}, out)
        return 0
    for entry in entries:
        mark = "" if entry.standard else "  (non-standard)"
        out.write(f"{answers.label(entry):<24} {entry.title}{mark}\n")
    return 0


def cmd_triage(args: Sequence[str], out: TextIO) -> int:
    from knowledge.triage.terminal import run_terminal

    result = finder().lookup(" ".join(args))
    if not result.matches:
        print(f"ftpcode triage: no code found in {' '.join(args)!r}", file=sys.stderr)
        return 1
    return run_terminal(result.matches[0].entry.id, sys.stdin, out)


def cmd_scan(args: Sequence[str], as_json: bool, style: Style, out: TextIO) -> int:
    from knowledge.scan_text import render_scan, scan_file

    if len(args) != 1:
        print("usage: ftpcode scan FILE | -", file=sys.stderr)
        return 2
    try:
        result = scan_file(args[0], sys.stdin.buffer if args[0] == "-" else None)
    except OSError as exc:
        print(f"ftpcode scan: cannot read {args[0]}: {exc.strerror}", file=sys.stderr)
        return 2
    if as_json:
        _print_json(result.to_json(), out)
    else:
        out.write(render_scan(result, style, _width()))
    return 0 if result.exchanges or result.findings else 1


def cmd_probe(args: Sequence[str], protocol: str | None, as_json: bool, style: Style, out: TextIO) -> int:
    import getpass

    from knowledge.probe import MemoryLimiter, ProbeConfig, ProbeConfigError, Refused, run_probe
    from knowledge.probe.text import render_probe

    if len(args) == 2 and protocol is None:
        args, protocol = args[:1], args[1]  # "ftpcode probe HOST sftp", as in Slack
    if len(args) != 1:
        print("usage: ftpcode probe HOST[:PORT] [--protocol ftp|ftpes|ftps|sftp] [--json]", file=sys.stderr)
        return 2
    try:
        config = ProbeConfig.from_env()
        limiter = MemoryLimiter(config.per_user_hour, config.per_target_hour)
        result = run_probe(args[0], protocol, user=getpass.getuser(), config=config, limiter=limiter)
    except (ProbeConfigError, Refused) as exc:
        message = exc.message if isinstance(exc, Refused) else str(exc)
        if as_json:
            reason = exc.reason if isinstance(exc, Refused) else "config"
            _print_json({"refused": message, "reason": reason}, out)
        else:
            print(f"ftpcode probe: {message}", file=sys.stderr)
        return 2
    if as_json:
        _print_json(result.to_json(), out)
    else:
        out.write(render_probe(result, style, _width()))
    return 1 if result.failure else 0


def cmd_stats(args: Sequence[str], database: str | None, days: int, as_json: bool, out: TextIO) -> int:
    """The bot's figures (bot/insights.py) from its database; the imports stay off every other command's path."""
    from pathlib import Path

    from bot.config import default_database_url
    from bot.database import DatabaseError, open_database
    from bot.insights import compute, render_text

    if args or not 1 <= days <= 3650:
        print("usage: ftpcode stats [--database URL] [--days N (1 to 3650)] [--json]", file=sys.stderr)
        return 2
    url = database or os.environ.get("DATABASE_URL", "").strip() or default_database_url(dict(os.environ))
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        print(f"ftpcode stats: no database at {url.removeprefix('sqlite:///')}", file=sys.stderr)
        return 2
    try:
        db = open_database(url)
    except DatabaseError as exc:  # its message never holds the URL, which may hold a password
        print(f"ftpcode stats: the database cannot be opened ({exc})", file=sys.stderr)
        return 2
    try:
        stats = compute(db, days)
    except (*db.errors, DatabaseError) as exc:
        print(
            f"ftpcode stats: no feedback in that database ({exc.__class__.__name__}): is it the bot's?", file=sys.stderr
        )
        return 2
    finally:
        db.close()
    if as_json:
        _print_json(stats.to_json(), out)
    else:
        out.write(render_text(stats))
    return 0


def cmd_kb(args: Sequence[str], out: TextIO) -> int:
    """`ftpcode kb build`: check the knowledge files and rebuild the snapshot. `ftpcode kb check [DIR]`: the
    knowledge base, or a folder of site notes against it; the first problem in one line naming the file and the
    entry, and exit status 1."""
    if list(args[:1]) == ["check"] and len(args) <= 2:
        return _kb_check(args[1:], out)
    from knowledge import snapshot
    from knowledge.base import knowledge_dir

    if list(args) != ["build"]:
        print("usage: ftpcode kb build | ftpcode kb check [DIR]", file=sys.stderr)
        return 2
    directory = knowledge_dir()
    try:
        kb, path, problem = snapshot.build(directory)
    except KnowledgeError as exc:
        print(f"ftpcode kb build: {exc}", file=sys.stderr)
        return 1
    out.write(f"{len(kb.entries)} entries in {directory}: checked.\n")
    if problem:
        print(f"ftpcode kb build: could not write the snapshot {path}: {problem}", file=sys.stderr)
        return 1
    out.write(f"Snapshot written: {path}\n")
    return 0


def _kb_check(folder: Sequence[str], out: TextIO) -> int:
    from pathlib import Path

    try:
        if not folder:
            from knowledge.datafiles import check_all

            out.write(f"knowledge base: {len(check_all())} files checked, no problem found\n")
            return 0
        from knowledge.site import load_site

        notes = load_site(Path(folder[0]))
    except KnowledgeError as exc:
        print(f"ftpcode kb check: {exc}", file=sys.stderr)
        return 1
    out.write(f"{folder[0]}: {notes.count} notes for {notes.site} in {notes.files} files, no problem found\n")
    return 0


def parser() -> argparse.ArgumentParser:
    import argparse

    p = argparse.ArgumentParser(
        prog="ftpcode",
        usage=USAGE,
        description="Explains FTP, FTPS and SFTP reply codes, Windows Sockets errors and client messages.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", nargs="*", help="a code, a name, a reply line or free text")
    p.add_argument("--json", action="store_true", help="print one JSON document (see README)")
    p.add_argument("--protocol", type=str.lower, choices=("ftp", "ftpes", "ftps", "sftp"), help="probe: the protocol")
    p.add_argument("--database", metavar="URL", help="stats: the bot's DATABASE_URL (default: as the bot finds it)")
    p.add_argument("--days", type=int, default=30, metavar="N", help="stats: the last N days (default 30)")
    colour = p.add_mutually_exclusive_group()
    colour.add_argument("--color", dest="colour", action="store_true", default=None, help="always colour")
    colour.add_argument("--no-color", dest="colour", action="store_false", help="never colour")
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    argv = sys.argv[1:] if argv is None else list(argv)
    if not any(arg.startswith("-") for arg in argv):  # no options: what argparse would find, without argparse
        args = SimpleNamespace(query=argv, json=False, protocol=None, colour=None, database=None, days=30)
    else:
        try:
            args = parser().parse_intermixed_args(argv)
        except SystemExit as exc:
            return int(exc.code or 0)
    style = Style(_use_colour(out, args.colour) and not args.json)
    words = args.query
    command = words[0].lower() if words else ""
    try:
        if command == "list":
            return cmd_list(words[1:], args.json, out)
        if command == "triage":
            return cmd_triage(words[1:], out)
        if command == "scan":
            return cmd_scan(words[1:], args.json, style, out)
        if command == "probe":
            return cmd_probe(words[1:], args.protocol, args.json, style, out)
        if command == "stats":
            return cmd_stats(words[1:], args.database, args.days, args.json, out)
        if command == "kb":
            return cmd_kb(words[1:], out)
        if not words:
            parser().print_help(out)
            return 2
        result = finder().lookup(" ".join(words))
        if args.json:
            _print_json(answers.result_json(result), out)
        else:
            out.write(render_result(result, style, _width()))
        return 0 if result.found else 1
    except BrokenPipeError:
        return 0
    except KnowledgeError as exc:
        print(f"ftpcode: the knowledge base cannot be read: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
