"""The import checks of `make lint` can fail: they run on a copy of the apps with a broken import put in.

No Django settings or database: lint-imports and tools/check_import_cycles.py read the files, in a subprocess.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CYCLE_CHECK = ROOT / "tools" / "check_import_cycles.py"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
LAYERS_CONTRACT = next(contract["name"] for contract in CONFIG["contracts"] if contract["type"] == "layers")


def copy_project(tmp_path):
    """The root packages of [tool.importlinter] and pyproject.toml, copied into tmp_path."""
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def run(command, cwd):
    # PYTHONPATH is the copy alone, so the project's own packages are out of sight; a wide terminal keeps
    # rich from wrapping the contract names.
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "400", "NO_COLOR": "1"}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def lint_imports(cwd):
    return run([str(LINT_IMPORTS), "--no-cache"], cwd)


def check_cycles(cwd):
    return run([sys.executable, str(CYCLE_CHECK)], cwd)


def append(path, text):
    path.write_text(path.read_text() + "\n" + text)


def test_an_import_against_the_layers_breaks_the_contract(tmp_path):
    project = copy_project(tmp_path)
    append(project / "intents" / "models.py", "import governance.models  # noqa\n")

    returncode, output = lint_imports(project)

    assert returncode == 1, output
    assert f"{LAYERS_CONTRACT} BROKEN" in output
    assert "intents is not allowed to import governance" in output
    assert "intents.models -> governance.models" in output


def test_a_cycle_between_two_files_fails_the_cycle_check(tmp_path):
    project = copy_project(tmp_path)
    (project / "intents" / "cycle_a.py").write_text("from intents import cycle_b  # noqa\n")
    (project / "intents" / "cycle_b.py").write_text("def late():\n    from intents import cycle_a  # noqa\n")

    returncode, output = check_cycles(project)

    assert returncode == 1, output
    assert "Import cycle between 2 files: intents/cycle_a.py, intents/cycle_b.py" in output
    assert "intents/cycle_a.py:1: from intents import cycle_b" in output
    assert "intents/cycle_b.py:2: from intents import cycle_a" in output


def test_the_unmodified_apps_pass_both_checks(tmp_path):
    project = copy_project(tmp_path)

    returncode, output = lint_imports(project)
    assert returncode == 0, output
    assert f"{LAYERS_CONTRACT} KEPT" in output

    returncode, output = check_cycles(project)
    assert returncode == 0, output
