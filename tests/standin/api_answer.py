"""What a Web API method of the stand-in answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ApiAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def ok(**fields: Any) -> ApiAnswer:
    return ApiAnswer(200, {"ok": True, **fields}, {})


def error(code: str, status: int = 200, headers: dict[str, str] | None = None) -> ApiAnswer:
    return ApiAnswer(status, {"ok": False, "error": code}, headers or {})
