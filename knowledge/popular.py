"""The codes the App Home lists as most asked (knowledge/data/popular.toml), checked against the knowledge base."""

from __future__ import annotations

from pathlib import Path

from knowledge.base import KnowledgeBase, KnowledgeError

POPULAR_FILE = Path(__file__).parent / "data" / "popular.toml"


def load_popular(kb: KnowledgeBase, path: Path = POPULAR_FILE) -> tuple[str, ...]:
    """The ids in the file, in order; raises KnowledgeError naming the file and the id that is wrong."""
    import tomllib  # here: the bot imports this module at start-up, and reads the file only later

    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{path.name}: not valid TOML: {exc}") from exc
    unknown = set(document) - {"ids"}
    if unknown:
        raise KnowledgeError(f"{path.name}: top level: unknown key(s) {', '.join(sorted(unknown))}")
    ids = document.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise KnowledgeError(f"{path.name}: 'ids' is missing (a list of knowledge entry ids)")
    for index, entry_id in enumerate(ids):
        if entry_id not in kb.by_id:
            raise KnowledgeError(f"{path.name}: ids[{index}]: unknown id {entry_id!r}")
        if entry_id in ids[:index]:
            raise KnowledgeError(f"{path.name}: ids[{index}]: {entry_id!r} is listed twice")
    return tuple(ids)
