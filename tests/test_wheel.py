"""The package as the Dockerfile installs it: a wheel, built from the source tree, installed
into a fresh virtual environment, runs `dutydesk --version` and `check-config`.

Docker cannot run here, so this is what the image's build checks: the wheel holds every
package and the migrations (package data), its entry point works, and its declared
dependencies are met. Installing those from the registry again would take minutes (the
language models alone are large), so the fresh environment sees the project's own
environment — installed from the same constraints — through a `.pth` file, the wheel goes
in with `--no-deps`, and `pip check` then verifies that every requirement the wheel
declares is satisfied. The commands run from an empty directory, so nothing is imported
from the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from .conftest import EXAMPLE, REPO

SOURCES = ("pyproject.toml", "README.md", "bot", "adapters", "routing", "storage")


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    tree = tmp_path / "src"  # a copy: building in place would leave build/ in the work tree
    tree.mkdir()
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(source, tree / name)
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, tree, cwd=tmp_path)
    [wheel] = wheels.glob("dutydesk-*.whl")

    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    python = fresh / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path).strip())
    (site / "project-env.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    _run(python, "-m", "pip", "check", cwd=tmp_path)

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TELEGRAM_BOT_TOKEN")}
    dutydesk = fresh / "bin" / "dutydesk"
    version = _run(dutydesk, "--version", cwd=empty, env=env)
    assert version.strip() == "dutydesk " + wheel.name.split("-")[1]
    where = _run(python, "-c", "import bot, storage.migrations as m; print(bot.__file__, len(m.migrations('sqlite')))",
                 cwd=empty, env=env)
    assert where.startswith(str(site)) and int(where.split()[1]) >= 6  # the wheel's copy, with its migrations
    checked = _run(dutydesk, "check-config", EXAMPLE, cwd=empty, env=env)
    assert "config.example.toml: OK" in checked
