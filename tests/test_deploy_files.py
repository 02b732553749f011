"""The Dockerfile and compose.yaml (no Docker engine runs here): each parses, builds from what
the repository has, runs as a non-root user with a health check on /health/live, and every
pricefeed command they, the Procfile and the README run exists in the CLI."""

from __future__ import annotations

import glob
import json
import re

import yaml
from conftest import ROOT
from dockerfile_parse import DockerfileParser

from pricefeed.cli import main

COMMANDS = set(main.commands)
COMMAND = re.compile(r"(?:^|\s|/)pricefeed +([a-z][a-z-]*)", re.MULTILINE)


def run_commands(text: str) -> list[str]:
    """The subcommand of every `pricefeed <command>` in shell text (`exec pricefeed pricefeed
    token`: a compose service, then the command)."""
    return [c for c in COMMAND.findall(text) if c != "pricefeed"]


def dockerfile() -> list[dict]:
    return DockerfileParser(path=str(ROOT / "Dockerfile")).structure


def final_stage(steps: list[dict]) -> list[dict]:
    last_from = max(i for i, s in enumerate(steps) if s["instruction"] == "FROM")
    return steps[last_from:]


def test_the_image_is_slim_python_synced_from_the_lock_and_not_root():
    stage = final_stage(dockerfile())
    runs = " ".join(s["value"] for s in stage if s["instruction"] == "RUN")
    users = [s["value"] for s in stage if s["instruction"] == "USER"]
    (health,) = [s["value"] for s in stage if s["instruction"] == "HEALTHCHECK"]
    (cmd,) = [json.loads(s["value"]) for s in stage if s["instruction"] == "CMD"]

    assert re.fullmatch(r"python:3\.\d+-slim", stage[0]["value"])
    assert "uv sync --locked" in runs
    assert users and users[-1] not in ("root", "0")
    assert "/health/live" in health
    assert cmd[0] == "pricefeed" and cmd[1] in COMMANDS


def test_everything_the_image_copies_is_in_the_repository():
    for step in dockerfile():
        if step["instruction"] != "COPY" or step["value"].startswith("--from"):
            continue
        *sources, _ = step["value"].split()
        for source in sources:
            assert glob.glob(str(ROOT / source)), f"COPY {source}: no such file"


def test_compose_runs_one_box_with_a_volume_for_the_data_directory():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    one_box = compose["services"]["pricefeed"]
    volumes = [v.split(":") for v in one_box["volumes"]]

    assert ["pricefeed-var", "/app/var"] in volumes
    assert "pricefeed-var" in compose["volumes"]
    assert "/health/live" in " ".join(one_box["healthcheck"]["test"])
    assert all(s["command"][0] == "pricefeed" for s in compose["services"].values())


def test_every_command_the_files_and_the_readme_run_exists():
    shell = ("RUN", "CMD", "HEALTHCHECK", "ENTRYPOINT")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    readme = (ROOT / "README.md").read_text()
    used = {
        "Dockerfile": run_commands(
            "\n".join(
                " ".join(json.loads(s["value"])) if s["value"].startswith("[") else s["value"]
                for s in dockerfile()
                if s["instruction"] in shell
            )
        ),
        "compose.yaml": [s["command"][1] for s in compose["services"].values()],
        "Procfile": run_commands((ROOT / "Procfile").read_text()),
        # code in the README only: its prose says "pricefeed answers ..."
        "README.md": run_commands("\n".join(re.findall(r"`+([^`]+)`+", readme))),
    }

    assert used["Dockerfile"] == ["run"]
    assert {"run", "worker"} <= set(used["Procfile"])
    assert {"run", "token", "quote", "devchain"} <= set(used["README.md"])
    for name, commands in used.items():
        assert set(commands) <= COMMANDS, f"{name}: {set(commands) - COMMANDS}"
