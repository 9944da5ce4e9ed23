"""The project's own files describe one environment: pyproject.toml,
constraints.txt, environment.yml, the Makefile and .ci/run agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_parses_and_lists_the_same_packages_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "attn-edu"
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    from_env = {s for s in pip_section if not s.startswith("-e")}
    project = pyproject()["project"]
    from_pyproject = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    assert {requirement_name(s) for s in from_env} == {requirement_name(s) for s in from_pyproject}
    assert from_env == from_pyproject, "version specifiers differ between environment.yml and pyproject.toml"


def test_core_dependencies_are_declared():
    names = {requirement_name(s) for s in pyproject()["project"]["dependencies"]}
    assert {"torch", "jupyterlab", "jupytext", "matplotlib", "ipywidgets", "tqdm", "numpy"} <= names
    # nbval only executes the chapters for `make test`: a reader does not need it.
    test_names = {requirement_name(s) for s in pyproject()["project"]["optional-dependencies"]["test"]}
    assert "nbval" in test_names and "nbval" not in names


def test_torch_is_pinned_to_the_cpu_build_everywhere():
    assert "torch==2.13.0" in pyproject()["project"]["dependencies"]
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text().split()
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()


def test_ci_runs_make_test_and_nothing_else():
    commands = [
        line.strip()
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert commands[-1] == "make test" and commands.count("make test") == 1
    # Besides `make test`, only the system packages the tests need are installed.
    installed = {word for c in commands if c.startswith("command -v") for word in c.split("+=(")[1:]}
    assert installed == {"bubblewrap)", "chromium)"}
    assert [c for c in commands if "apt-get install" in c] == [
        'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"'
    ]


def test_readme_quick_start_has_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_folders_announced_by_the_layout_exist():
    for folder in ("book", "attn_edu", "exercises", "solutions", "tests"):
        assert (ROOT / folder).is_dir(), folder
    for name in ("environment.yml", "README.md", "pyproject.toml", "Makefile", "jupytext.toml", ".ci/run"):
        assert (ROOT / name).is_file(), name
