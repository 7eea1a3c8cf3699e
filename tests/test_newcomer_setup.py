"""What the README promises a newcomer about setting up: checked against the Makefile and the SDK's packaging."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def dry_run(*args):
    """The commands ``make`` would run, without running them (the install stamps count as made)."""
    result = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed-run", "-o", ".venv/.installed-dev", "-o", ".venv/bin/python", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_binds_the_host_and_port_it_is_given():
    assert "manage.py serve --host 0.0.0.0 --port 9000" in dry_run("run", "HOST=0.0.0.0", "PORT=9000")
    assert "manage.py serve --host 127.0.0.1 --port 8000" in dry_run("run")


def test_make_run_installs_only_what_serving_needs():
    rule = re.search(r"^run: (.*)$", (ROOT / "Makefile").read_text(), flags=re.M).group(1)
    assert "installed-dev" not in rule and "installed-run" in rule


def test_browser_tests_can_be_left_out_without_installing_chromium():
    commands = dry_run("test", "BROWSER=0")

    assert '-m "not browser"' in commands
    assert "apt-get" not in commands


def test_the_readme_pins_the_interop_client_and_says_how_to_skip_the_browser_tests():
    assert "pip install openintent==0.9.1" in README
    assert "make test BROWSER=0" in README
    assert "Python 3.11" in README


def test_installing_the_sdk_leaves_no_build_output_in_the_tree(tmp_path):
    before = set((ROOT / "sdk").rglob("*"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "./sdk"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert list(tmp_path.glob("openintent_django-*.whl"))
    left = {path for path in set((ROOT / "sdk").rglob("*")) - before if "__pycache__" not in path.parts}
    assert left == set()
