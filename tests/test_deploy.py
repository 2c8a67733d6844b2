"""deploy/: the compose file validates (Debian's docker-compose, or the docker compose plugin)
and wires replicas, nginx, PostgreSQL and the text engines together as the README says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
APPS = ["app1", "app2"]


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


def _config(env: dict[str, str]) -> subprocess.CompletedProcess:
    command = _compose_command()
    if command is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed (apt-get install docker-compose)")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AIGC_", "POSTGRES_", "COMPOSE_"))}
    return subprocess.run([*command, "-f", str(DEPLOY / "docker-compose.yml"), "config"],
                          env={**environ, **env}, capture_output=True, text=True, timeout=120)


def test_compose_file_validates_and_wires_the_services():
    result = _config({"POSTGRES_PASSWORD": "pw-for-the-test"})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(APPS) | {"nginx", "postgres", "llamacpp", "vllm"} <= set(services)

    for name in APPS:  # every replica: the same image, database, outputs volume and text engine
        app = services[name]
        env = app["environment"]
        assert env["AIGC_DATABASE_URL"] == "postgresql://aigc:pw-for-the-test@postgres:5432/aigc"
        assert env["AIGC_DATA_DIR"] == "/data"
        assert env["AIGC_TEXT_MODEL"].startswith("openai:") and env["AIGC_TEXT_BASE_URL"] == "http://llamacpp:8080/v1"
        assert any(str(v).startswith("outputs:/data") for v in app["volumes"])
        assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert app["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw-for-the-test"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["llamacpp"]["profiles"] == ["cpu"] and services["vllm"]["profiles"] == ["gpu"]
    gpu = services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]
    assert any("nginx.conf:/etc/nginx/nginx.conf" in str(v) for v in services["nginx"]["volumes"])


def test_compose_refuses_to_run_without_a_database_password():
    result = _config({})
    assert result.returncode != 0 and "set POSTGRES_PASSWORD in deploy/.env" in result.stderr


def test_nginx_balances_every_replica_with_sticky_sessions_and_streams_events():
    conf = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream aigc_app \{(.*?)\}", conf, re.S).group(1)
    assert "ip_hash;" in upstream
    assert re.findall(r"server (\w+):7860", upstream) == APPS
    assert "proxy_buffering off;" in conf and "proxy_pass http://aigc_app;" in conf


def test_the_dockerfile_copies_what_exists():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?:--chown=\S+ )?(.+) \S+$", dockerfile, re.M):
        for name in source.split():
            assert (ROOT / name).exists(), name
    assert 'CMD ["python", "app.py"]' in dockerfile and "USER aigc" in dockerfile
