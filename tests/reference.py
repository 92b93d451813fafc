"""The reference material beside the project (../shared/reference), read for coverage tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"


def reference_json() -> dict:
    path = SHARED / "ftp_reference.json"
    if not path.exists():
        pytest.skip(f"reference material not found at {path}")
    return json.loads(path.read_text())


def article_codes() -> list[str]:
    """Every code in the article's table: 'NNN Explanation' rows and 'N00 Series' rows as 'Nxx'."""
    path = SHARED / "ftp-response-codes-article.txt"
    if not path.exists():
        pytest.skip(f"reference article not found at {path}")
    table = path.read_text().split("Code Explanation", 1)[1].split("Looking for an FTP Alternative", 1)[0]
    codes = []
    for line in table.splitlines():
        row = re.match(r"^(\d{3,5})\s+(Series\b)?", line)
        if not row:
            continue
        number = row[1]
        if row[2] and number.endswith("00") and len(number) == 3:
            codes.append(f"{number[0]}xx")
        elif not row[2]:
            codes.append(number)
    return codes
