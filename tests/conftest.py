import pytest

# Before anything imports it, so the asserts in its fixtures and helpers are rewritten like a test's.
pytest.register_assert_rewrite("tests.ftpservers")

from tests.ftpservers import (  # noqa: E402, F401 - the real FTP, FTPS and SSH servers, as fixtures
    flood_server,
    ftp_server,
    ftps_required_server,
    ftps_server,
    nat_ftp_server,
    sftp_server,
    silent_server,
    ssh_banner_server,
    sshd_server,
    vsftpd_implicit_server,
    vsftpd_server,
)
from tests.standin.fixtures import bot_http, bot_socket, slack, standin  # noqa: E402, F401
