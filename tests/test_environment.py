"""The conda environment, the pinned requirements and the README's set-up stay in step."""

from __future__ import annotations

import re

import yaml

from vipquality.paths import PROJECT_ROOT


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements.txt: {line!r} is not pinned with =="
            pins[name.lower()] = version
    return pins


def test_environment_yml_lists_the_pinned_requirements():
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = {}
    for entry in pip_section:
        if entry.startswith("-"):
            continue
        name, _, version = entry.partition("==")
        conda_pins[name.lower()] = version
    assert conda_pins == _requirements()
    assert "python=3.11" in env["dependencies"]


def test_pyproject_dependencies_are_all_pinned():
    text = (PROJECT_ROOT / "pyproject.toml").read_text()
    block = re.search(r"dependencies = \[(.*?)\]", text, re.S).group(1)
    names = {re.match(r"[A-Za-z0-9_.-]+", d.strip().strip('"')).group(0).lower()
             for d in block.split(",") if d.strip()}
    missing = names - set(_requirements())
    assert not missing, f"in pyproject.toml but not pinned in requirements.txt: {missing}"


def test_readme_opens_with_the_two_setup_commands():
    lines = (PROJECT_ROOT / "README.md").read_text().splitlines()
    commands = [ln.split("#")[0].strip() for ln in lines[:25] if ln.strip().startswith("make ")]
    assert commands[:2] == ["make report", "make test"]
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
