"""deploy/: the image definition, the compose file, the Kubernetes example and nginx's configuration cannot be
built or deployed here, so they are checked as far as this machine can: they parse, every variable they give
the bot is documented in the README's configuration table, and nginx runs the very configuration they use in
front of a real bot process.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import nginx_config
from tests.services import need_service
from tests.standin import BotProcess, SlackStandIn
from tests.standin.process import free_port

DEPLOY = nginx_config.REPO_ROOT / "deploy"
README = nginx_config.REPO_ROOT / "README.md"


def documented_variables() -> set[str]:
    """The first column of the README's configuration table."""
    table = README.read_text().split("### Configuration", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, re.MULTILINE))


def dockerfile_variables() -> dict[str, str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"([A-Z][A-Z0-9_]*)=(\S+)", line))
    return found


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


def bot_services() -> dict[str, dict[str, Any]]:
    """The compose services built from deploy/Dockerfile."""
    return {name: s for name, s in compose()["services"].items() if s.get("build", {}).get("dockerfile")}


def k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]


def k8s_object(kind: str) -> dict[str, Any]:
    [found] = [o for o in k8s_objects() if o["kind"] == kind]
    return found


def bot_container() -> dict[str, Any]:
    [container] = k8s_object("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


# ----- what the files give the bot -----


def test_every_variable_the_deploy_files_set_is_in_the_readme_table() -> None:
    documented = documented_variables()
    assert {"SLACK_BOT_TOKEN", "DATABASE_URL", "PORT"} <= documented, "the table was not found"
    given = {
        "deploy/Dockerfile": set(dockerfile_variables()),
        **{f"deploy/compose.yml {name}": set(s["environment"]) for name, s in bot_services().items()},
        "deploy/k8s Deployment": {e["name"] for e in bot_container()["env"]},
    }
    for where, names in given.items():
        assert names, f"{where} sets no variable: the test read nothing"
        assert names <= documented, f"{where} sets {sorted(names - documented)}, not in the README's table"


def test_the_image_runs_unprivileged_with_a_health_check_and_no_secret_in_it() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.MULTILINE)
    assert not {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"} & set(dockerfile_variables())
    assert not re.search(r"^ARG ", text, re.MULTILINE), "a build argument is kept in the image's history"


def test_compose_runs_two_replicas_behind_nginx_on_postgresql_with_secrets_as_files() -> None:
    services = compose()["services"]
    bots = bot_services()
    assert len(bots) == 2 and {"postgres", "nginx"} <= set(services)
    for bot in bots.values():
        env = bot["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:" in env["DATABASE_URL"]
        secrets = set(bot["secrets"])
        assert env["SLACK_BOT_TOKEN_FILE"] == "/run/secrets/slack_bot_token" and "slack_bot_token" in secrets
        assert env["SLACK_SIGNING_SECRET_FILE"] == "/run/secrets/slack_signing_secret"
        assert "slack_signing_secret" in secrets
        assert not {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} & set(env)
    nginx = services["nginx"]
    assert {nginx["environment"]["REPLICA_1"], nginx["environment"]["REPLICA_2"]} == {f"{b}:3000" for b in bots}
    assert "./nginx.conf:/etc/nginx/templates/nginx.conf.template:ro" in nginx["volumes"]
    assert nginx["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    assert set(nginx["environment"]) - {"NGINX_ENVSUBST_OUTPUT_DIR"} == set(nginx_config.PLACEHOLDERS)


def test_kubernetes_probes_secret_files_disruption_budget_and_service_agree() -> None:
    deployment = k8s_object("Deployment")
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    container = bot_container()
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True

    env = {e["name"]: e for e in container["env"]}
    [secret_volume] = [v for v in pod["spec"]["volumes"] if "secret" in v]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == secret_volume["name"]]
    files = {f"{mount['mountPath']}/{item['path']}" for item in secret_volume["secret"]["items"]}
    assert {env["SLACK_BOT_TOKEN_FILE"]["value"], env["SLACK_SIGNING_SECRET_FILE"]["value"]} == files
    assert not {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} & set(env)

    budget = k8s_object("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] >= 1
    service = k8s_object("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]


# ----- nginx, on the configuration the deployment uses -----


@pytest.fixture
def nginx() -> str:
    binary = nginx_config.nginx_binary()
    need_service(binary is not None, "nginx is not installed (bash .ci/run installs Debian's)")
    assert binary is not None
    return binary


def test_nginx_accepts_the_configuration_with_replicas_filled_in(nginx: str, tmp_path: Path) -> None:
    config = nginx_config.write(tmp_path, f"127.0.0.1:{free_port()}", ("127.0.0.1:3001", "127.0.0.1:3002"))
    assert "${" not in config.read_text(), "a placeholder was left"
    checked = nginx_config.check(nginx, config)
    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def proxied_bot(nginx: str, bot_http, tmp_path: Path) -> Iterator[tuple[str, BotProcess]]:
    """nginx on the deploy configuration in front of one bot (both replica entries point at it); nginx's URL."""
    bot = bot_http()
    port = free_port()
    replica = f"127.0.0.1:{bot.port}"
    process = nginx_config.start(nginx, nginx_config.write(tmp_path, f"127.0.0.1:{port}", (replica, replica)))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while status(url + "/healthz") != 200:
            assert process.poll() is None, (tmp_path / "nginx.log").read_text()
            assert time.monotonic() < deadline, "nginx did not answer /healthz"
            time.sleep(0.05)
        yield url, bot
    finally:
        process.terminate()
        process.wait(10)


def status(url: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def test_nginx_passes_slack_and_health_and_refuses_the_rest(
    standin: SlackStandIn, proxied_bot: tuple[str, BotProcess]
) -> None:
    url, bot = proxied_bot
    delivery = standin.send_command(url + "/slack/events", "425")
    assert delivery.status == 200 and "FTP 425" in delivery.json()["text"]
    assert status(url + "/healthz") == 200
    assert status(bot.url + "/metrics") == 200 and status(url + "/metrics") == 404, "/metrics is public"
    assert status(url + "/readyz") == 404
    assert status(url + "/slack/events") == 403, "only POST reaches Slack's path"
    # Over the body limit: refused by nginx from the Content-Length, before the bot sees a byte of it.
    assert status(url + "/slack/events", b"x" * (1024 * 1024 + 1)) == 413
    assert status(url + "/slack/events", b"x" * 1000) == 401, "a small unsigned body is the bot's to refuse"
