"""The ftpcode core: the knowledge base and the logic on it. Knows nothing of Slack."""

from knowledge.base import Entry, KnowledgeBase, KnowledgeError, load

__all__ = ["Entry", "KnowledgeBase", "KnowledgeError", "load"]
