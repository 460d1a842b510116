"""docker/compose.yaml, the Dockerfile and the entrypoint start the roles the multi-host test proves."""

import subprocess
import sys
from pathlib import Path

import yaml

from tests.deploy.hosts import ROLES, ROOT, WEB_HEALTHCHECK

DOCKER = ROOT / "docker"


def _services() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]


def test_compose_runs_each_role_the_multi_host_test_runs_through_the_entrypoint():
    services = _services()
    assert {name: services[name]["command"] for name in ROLES} == ROLES
    # One beat, or every periodic job is queued twice.
    assert [name for name, service in services.items() if service.get("command") == ["beat"]] == ["beat"]


def test_compose_checks_the_web_service_with_the_health_check_the_multi_host_test_waits_on():
    check = _services()["web"]["healthcheck"]
    assert check["test"] == ["CMD", "/app/docker/entrypoint.sh", *WEB_HEALTHCHECK]
    assert check["start_period"], "the first start migrates before gunicorn listens: give it a start period"


def test_compose_publishes_the_plain_http_web_port_only_to_the_proxy_on_the_same_machine():
    # Django trusts X-Forwarded-Proto; a client reaching gunicorn directly could claim https.
    assert all(port.startswith("127.0.0.1:") for port in _services()["web"]["ports"])


def test_the_image_and_the_entrypoint_agree_on_the_app_directory():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    entrypoint = (DOCKER / "entrypoint.sh").read_text()
    assert "WORKDIR /app" in dockerfile and 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in dockerfile
    assert 'cd "${APP_DIR:-/app}"' in entrypoint
    assert Path(DOCKER / "entrypoint.sh").stat().st_mode & 0o111, "entrypoint.sh must be executable"
    assert subprocess.run(["sh", "-n", str(DOCKER / "entrypoint.sh")]).returncode == 0


def test_the_health_check_role_fails_naming_the_path_when_nothing_listens():
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "APP_DIR": str(ROOT), "PORT": "9", "ALLOWED_HOSTS": "annotator.test"}
    completed = subprocess.run(
        [str(DOCKER / "entrypoint.sh"), *WEB_HEALTHCHECK], env=env, capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 1 and completed.stderr.startswith("/healthz: "), completed.stderr


def test_compose_gives_each_container_a_metrics_folder_of_its_own_off_the_shared_volume():
    services = _services()
    for name in ROLES:
        environment = services[name]["environment"]
        folder = environment["PROMETHEUS_MULTIPROC_DIR"]
        assert folder.startswith("/tmp/"), f"{name}: {folder} must be inside the container, not on a shared volume"
        assert not folder.startswith(environment["DATA_DIR"])
        assert environment["METRICS_TOKEN"] == "${METRICS_TOKEN:-}", "unset, /metrics answers 404"
