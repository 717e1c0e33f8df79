"""Run a Dockerfile's build stage without a Docker engine: its ENV, WORKDIR, COPY and RUN
instructions, in order, against a scratch directory that stands in for the image's root.

Absolute paths in ENV and WORKDIR are placed under that root (``/opt/postwave`` becomes
``<root>/opt/postwave``), COPY takes files from the build context through the rules of
.dockerignore, and each RUN line runs with bash in the current WORKDIR with the stage's
environment. System package steps (``apt-get``) are skipped: they need root on the host, and
the host already has a compiler. The Dockerfile is parsed with dockerfile-parse.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from dockerfile_parse import DockerfileParser


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i:]:
            j = pattern.index("]", i)
            out, i = out + pattern[i:j + 1], j + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


class DockerIgnore:
    """The rules of a .dockerignore: the last pattern matching a path or one of its parents wins."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            keep = line.startswith("!")
            pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
            self.rules.append((keep, _pattern_regex(pattern)))

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, with /) stays out of the build context."""
        parts = path.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        verdict = False
        for keep, regex in self.rules:
            if any(regex.match(p) for p in prefixes):
                verdict = not keep
        return verdict


def context_files(context: Path, ignore: DockerIgnore, source: str) -> Iterator[Path]:
    """Files of ``source`` (a file or directory of the context) that enter the build context."""
    start = context / source
    paths = [start] if start.is_file() else sorted(p for p in start.rglob("*") if p.is_file())
    for path in paths:
        if not ignore.excluded(path.relative_to(context).as_posix()):
            yield path


class BuildStage:
    """One stage of a Dockerfile, replayed under ``root`` from the build ``context``."""

    def __init__(self, dockerfile: Path, stage: str, root: Path, base_env: dict[str, str]) -> None:
        self.context = dockerfile.parent
        self.instructions = self._stage(DockerfileParser(path=str(dockerfile)).structure, stage)
        self.root = root
        self.env = dict(base_env)
        self.workdir = root
        self.ignore = DockerIgnore((self.context / ".dockerignore").read_text())
        self.ran: list[str] = []
        self.skipped: list[str] = []

    @staticmethod
    def _stage(structure: list[dict[str, str]], name: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        inside = False
        for item in structure:
            if item["instruction"] == "FROM":
                inside = item["value"].split()[-1] == name
            elif inside and item["instruction"] != "COMMENT":
                found.append((item["instruction"], item["value"]))
        if not found:
            raise ValueError(f"no stage named {name}")
        return found

    def _expand(self, value: str) -> str:
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: self.env.get(m.group(1) or m.group(2), ""), value)

    def _rooted(self, value: str) -> str:
        return str(self.root / value.lstrip("/")) if value.startswith("/") else value

    def env_instruction(self, value: str) -> None:
        """ENV K=V ...: absolute paths land under the root (a ${VAR} reference is already there)."""
        for token in shlex.split(value):
            key, _, raw = token.partition("=")
            self.env[key] = self._expand(self._rooted(raw))

    def copy_instruction(self, value: str) -> None:
        """COPY src... dest from the build context."""
        *sources, dest = shlex.split(value)
        if any(s.startswith("--") for s in sources):
            raise ValueError(f"COPY {value}: flags are not part of a build stage replay")
        target = self.workdir / dest
        for source in sources:
            for path in context_files(self.context, self.ignore, source):
                if (self.context / source).is_dir():
                    out = target / path.relative_to(self.context / source)
                else:
                    out = target / path.name if dest.endswith("/") else target
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)

    def run_instruction(self, command: str, timeout: float) -> None:
        """RUN: bash in the WORKDIR with the stage's environment (apt-get lines skipped)."""
        if command.lstrip().startswith("apt-get"):
            self.skipped.append(command)
            return
        result = subprocess.run(["bash", "-ec", command], cwd=self.workdir, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"RUN {command}\nexit {result.returncode}\n{result.stdout[-4000:]}\n"
                                 f"{result.stderr[-4000:]}")
        self.ran.append(command)

    def replay(self, timeout: float = 600) -> None:
        """Every instruction of the stage, in order."""
        for instruction, value in self.instructions:
            if instruction == "ENV":
                self.env_instruction(value)
            elif instruction == "WORKDIR":
                self.workdir = Path(self._rooted(self._expand(value)))
                self.workdir.mkdir(parents=True, exist_ok=True)
            elif instruction == "COPY":
                self.copy_instruction(value)
            elif instruction == "RUN":
                self.run_instruction(value, timeout)
            elif instruction not in ("ARG", "LABEL"):
                raise ValueError(f"{instruction} is not replayed; extend tests/k8s/dockerbuild.py")
