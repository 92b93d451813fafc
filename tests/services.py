"""Tests that need a real service (PostgreSQL, an FTP server) skip without it, except where CI promised it."""

import os

import pytest

REQUIRE_SERVICES = os.environ.get("FTPCODE_REQUIRE_SERVICES") == "1"


def need_service(available: bool, reason: str) -> None:
    """Skip a test whose external service is missing, or fail it where CI promised the service."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"FTPCODE_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)
