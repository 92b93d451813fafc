"""A compiled snapshot of the knowledge base, read at start instead of parsing and checking every TOML file.

Parsing and checking the TOML files costs more than Python's own start-up; reading the snapshot costs about a
millisecond. The snapshot is the checked knowledge base (entries and the digits table) in `marshal` format:
built into the interpreter (no import to pay for), the fastest of the standard formats for plain data, and,
unlike pickle, unable to build arbitrary objects or run code while it is read.

It lives in `$XDG_CACHE_HOME/ftpcode/` (default `~/.cache/ftpcode/`), one file per knowledge directory and
interpreter, and is used only when everything it was built from is unchanged:
- the interpreter (`sys.version`) and the code that builds it (this module and knowledge/base.py, by content,
  which covers a new release and an edited checkout alike);
- the knowledge directory, and every source file in it, by name, size and CRC-32 of its content. Contents, not
  modification times: an edit within one clock tick of the last one, or a file copied back with its old time,
  keeps its size and time but not its CRC. Reading and summing the ~0.4 MB of sources costs ~0.3 ms;
- the file itself, by a CRC-32 of its payload: a truncated or damaged snapshot is ignored and rebuilt.

A snapshot that does not match is rebuilt from the TOML files and written back (atomically, mode 600). When it
cannot be written (a read-only home, no home at all) the knowledge base is used from memory, never failing.
`ftpcode kb build` rebuilds it explicitly.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

from knowledge import base

_MAGIC = b"ftpcode-knowledge\x01"  # the last byte numbers the file layout
_CODE_FILES = (base.__file__, __file__)


def cache_dir() -> str | None:
    """$XDG_CACHE_HOME/ftpcode, else ~/.cache/ftpcode; None without a home (then no snapshot at all)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    root = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "ftpcode") if os.path.isabs(root) else None


def snapshot_path(directory: str) -> str | None:
    """One file per knowledge directory and interpreter, so checkouts side by side do not evict each other."""
    cache = cache_dir()
    if cache is None:
        return None
    tag = zlib.crc32(f"{os.path.realpath(directory)}\0{sys.version}".encode())
    return os.path.join(cache, f"knowledge-{tag:08x}.marshal")


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _fingerprint(files: dict[str, bytes]) -> tuple:
    return tuple((name, len(data), zlib.crc32(data)) for name, data in files.items())


def _key(directory: str, sources: dict[str, bytes]) -> tuple:
    """Everything the snapshot was built from; it is used only if this is equal, item by item."""
    code = _fingerprint({os.path.basename(p): _read(p) for p in _CODE_FILES})
    return (sys.version, code, os.path.realpath(directory), base.ENTRY_FIELDS, _fingerprint(sources))


def _read_snapshot(path: str | None, key: tuple) -> tuple[base.KnowledgeBase, dict] | None:
    """The snapshot at `path` if it is ours, whole, and built from exactly `key`; otherwise None."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            if status.st_uid != os.geteuid() or status.st_mode & 0o022:
                return None  # only a file we wrote ourselves, that nobody else may have changed
            blob = handle.read()
    except OSError:
        return None
    header = len(_MAGIC) + 4
    if blob[: len(_MAGIC)] != _MAGIC or len(blob) < header:
        return None
    payload = memoryview(blob)[header:]
    if int.from_bytes(blob[len(_MAGIC) : header], "big") != zlib.crc32(payload):
        return None
    try:
        recorded_key, rows, digit_table = marshal.loads(payload)
        if recorded_key != key:
            return None
        return base.from_rows(rows), digit_table
    except Exception:  # a payload that passed its CRC but not our reading of it: rebuild, never fail
        return None


def _write_snapshot(path: str | None, key: tuple, kb: base.KnowledgeBase, digit_table: dict) -> str | None:
    """Writes the snapshot atomically; returns why it could not, or None."""
    if path is None:
        return "no home directory and no XDG_CACHE_HOME"
    temporary = f"{path}.{os.urandom(6).hex()}.tmp"  # unique per writer: processes and threads may race here
    try:
        payload = marshal.dumps((key, base.to_rows(kb), digit_table))
        _make_dirs(os.path.dirname(path))
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload)
        os.replace(temporary, path)
    except (OSError, ValueError) as exc:  # ValueError: something marshal cannot write (a test shows it)
        from contextlib import suppress  # here, not at the top: only a rebuild needs it

        with suppress(OSError):
            os.unlink(temporary)
        return getattr(exc, "strerror", None) or str(exc)
    return None


def _make_dirs(cache: str) -> None:
    """The cache directory and its parent (~/.cache), mode 700; never a missing home above them."""
    from contextlib import suppress

    for directory in (os.path.dirname(cache), cache):
        with suppress(FileExistsError):
            os.mkdir(directory, 0o700)


def _sources(directory: str) -> dict[str, bytes]:
    """Every file the knowledge base is built from, by its path under `directory`, read once."""
    try:
        return {os.path.relpath(p, directory): _read(p) for p in base.source_files(directory)}
    except OSError as exc:
        raise base.KnowledgeError(f"{exc.filename or directory}: {exc.strerror}") from exc


def load(directory: str) -> tuple[base.KnowledgeBase, dict]:
    """The knowledge base and digits table of `directory`: from the snapshot when it matches, else rebuilt."""
    sources = _sources(directory)
    key = _key(directory, sources)
    path = snapshot_path(directory)
    cached = _read_snapshot(path, key)
    if cached is not None:
        return cached
    kb, digit_table = base.compile_sources(sources)  # from the very bytes the key was made of
    _write_snapshot(path, key, kb, digit_table)
    return kb, digit_table


def build(directory: str) -> tuple[base.KnowledgeBase, str | None, str | None]:
    """Checks every source file and writes the snapshot: (knowledge base, snapshot path, why not written)."""
    sources = _sources(directory)
    kb, digit_table = base.compile_sources(sources)
    path = snapshot_path(directory)
    return kb, path, _write_snapshot(path, _key(directory, sources), kb, digit_table)
