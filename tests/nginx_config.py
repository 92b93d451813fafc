"""deploy/nginx.conf made runnable: its placeholders filled in, and nginx started on it (Debian's nginx).

The replica test and tests/test_deploy.py run the very file the deployment uses, through `render`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "deploy" / "nginx.conf"
PLACEHOLDERS = ("LISTEN", "REPLICA_1", "REPLICA_2")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def render(listen: str, replicas: tuple[str, str]) -> str:
    """The template with ${LISTEN}, ${REPLICA_1}, ${REPLICA_2} replaced, as envsubst with those three names does."""
    text = TEMPLATE.read_text()
    for name, value in zip(PLACEHOLDERS, (listen, *replicas), strict=True):
        text = text.replace("${" + name + "}", value)
    return text


def write(directory: Path, listen: str, replicas: tuple[str, str]) -> Path:
    """The rendered configuration in `directory` (which is also nginx's prefix); its path."""
    path = directory / "nginx.conf"
    path.write_text(render(listen, replicas))
    return path


def command(binary: str, config: Path, directives: str = "", *extra: str) -> list[str]:
    """nginx on `config` plus global `directives`; its pid file beside it and its early errors on stderr, not in
    /run or /var/log (nginx takes one -g only)."""
    prefix = config.parent
    globals_ = f"pid {prefix}/nginx.pid; {directives}".strip()
    return [binary, "-p", f"{prefix}/", "-c", str(config), "-e", "stderr", "-g", globals_, *extra]


def check(binary: str, config: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on `config`."""
    return subprocess.run(command(binary, config, "", "-t"), capture_output=True, text=True, timeout=30)


def start(binary: str, config: Path) -> subprocess.Popen[bytes]:
    """nginx serving `config` until terminated (SIGTERM: fast shutdown)."""
    log = (config.parent / "nginx.log").open("ab")
    try:
        return subprocess.Popen(command(binary, config, "daemon off;"), stdout=log, stderr=log)
    finally:
        log.close()
