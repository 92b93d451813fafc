import os

import pytest

from tests.standin.fixtures import bot_http, bot_socket, standin  # noqa: F401

REQUIRE_SERVICES = os.environ.get("FTPCODE_REQUIRE_SERVICES") == "1"


def need_service(available: bool, reason: str) -> None:
    """Skip a test whose external service is missing, or fail it where CI promised the service."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"FTPCODE_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)
