"""The Docker image, checked by reading the Dockerfile (no docker daemon here): a slim Python
base, a non-root user, the /data volume holding the database, and `opsbot run` as the command.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def parse(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile: comments dropped, `\\` continuations joined."""
    out: list[Instruction] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        keyword, _, args = buf.strip().partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        buf = ""
    if buf.strip():
        keyword, _, args = buf.strip().partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
    return out


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions from the last FROM on: what the image that runs is made of."""
    froms = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    assert froms, "no FROM"
    return instructions[froms[-1] :]


def words(args: str) -> list[str]:
    """Exec form (JSON array) or shell form, as a list of words."""
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
        return value
    return shlex.split(args)


@pytest.fixture(scope="module")
def stage() -> list[Instruction]:
    return final_stage(parse(DOCKERFILE.read_text()))


def last(stage: list[Instruction], keyword: str) -> Instruction | None:
    found = [i for i in stage if i.keyword == keyword]
    return found[-1] if found else None


def test_base_image_is_a_slim_python(stage: list[Instruction]) -> None:
    base = words(stage[0].args)
    image = next(w for w in base if not w.startswith("--"))
    name, _, tag = image.partition(":")
    assert name in ("python", "docker.io/library/python", "library/python"), image
    version = re.match(r"(\d+)\.(\d+)", tag)
    assert version and (int(version[1]), int(version[2])) >= (3, 11), image  # requires-python
    assert "slim" in tag.split("-"), f"{image} is not a slim image"


def test_runs_as_a_non_root_user(stage: list[Instruction]) -> None:
    user = last(stage, "USER")
    assert user is not None, "no USER: the container would run as root"
    name = user.args.split(":")[0]
    assert name not in ("root", "0"), user
    # ... and that user exists in the image: created by a RUN before the USER line.
    created = [
        i
        for i in stage
        if i.keyword == "RUN"
        and i.line < user.line
        and re.search(rf"\b(useradd|adduser)\b[^&;]*\b{re.escape(name)}\b", i.args)
    ]
    assert created or name.isdigit(), f"user {name} is never created"
    # Nothing after USER switches back to root.
    assert all(
        i.args.split(":")[0] == name for i in stage if i.keyword == "USER" and i.line > user.line
    )


def test_declares_the_data_volume_and_keeps_the_database_there(stage: list[Instruction]) -> None:
    volumes = [v for i in stage if i.keyword == "VOLUME" for v in words(i.args)]
    assert "/data" in [v.rstrip("/") for v in volumes], volumes
    env = " ".join(i.args for i in stage if i.keyword == "ENV")
    assert re.search(r"DATABASE_URL=\S*sqlite\+aiosqlite:////data/", env), env
    # the non-root user can write there
    user = last(stage, "USER")
    assert user is not None
    name = user.args.split(":")[0]
    assert any(
        re.search(rf"chown\b[^&;]*\b{re.escape(name)}\b[^&;]*/data", i.args)
        for i in stage
        if i.keyword == "RUN"
    ), "/data is not given to the user"


def test_runs_opsbot_run(stage: list[Instruction]) -> None:
    entry = last(stage, "ENTRYPOINT")
    cmd = last(stage, "CMD")
    command = (words(entry.args) if entry else []) + (words(cmd.args) if cmd else [])
    assert command[:2] == ["opsbot", "run"], command
    # installed from the project itself, so the `opsbot` console script exists in the image
    assert any(
        i.keyword == "RUN" and re.search(r"pip install\b.*(\s\.|\s\./?)(\s|$)", i.args)
        for i in stage
    ), "the project is never pip-installed"


def test_the_parser_reads_continuations_and_stages() -> None:
    text = (
        "# syntax=docker/dockerfile:1\nFROM python:3.12 AS build\nRUN pip wheel . \\\n"
        "  # comment\n  && echo done\nFROM python:3.12-slim\nUSER 10001\n"
        'CMD ["opsbot", "run"]\n'
    )
    instructions = parse(text)
    assert [i.keyword for i in instructions] == ["FROM", "RUN", "FROM", "USER", "CMD"]
    assert instructions[1].args == "pip wheel .    && echo done"
    stage = final_stage(instructions)
    assert stage[0].args == "python:3.12-slim" and words(stage[-1].args) == ["opsbot", "run"]
