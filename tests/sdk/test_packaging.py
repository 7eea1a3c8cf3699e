"""The bundled SDK's distribution cannot be mistaken for PyPI's ``openintent``: its own name, the import name
``openintent``, its extras, and a warning when PyPI's package is installed beside it."""

import subprocess
import sys
import zipfile
from email.parser import Parser

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), "./sdk"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [built] = folder.glob("*.whl")
    return built


def test_the_distribution_is_named_apart_and_imports_as_openintent(wheel):
    assert wheel.name.startswith("openintent_django-0.10.0-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata_name] = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert metadata["Name"] == "openintent-django" and metadata["Version"] == "0.10.0"
    assert {name.split("/")[0] for name in names} == {"openintent", "openintent_django-0.10.0.dist-info"}
    assert "openintent/py.typed" in names
    assert set(metadata.get_all("Provides-Extra")) == {"websocket", "all"}
    assert any(req.startswith("httpx>=") for req in metadata.get_all("Requires-Dist"))


def fake_distribution(folder, name, version, direct_url=None):
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(direct_url)


def import_openintent(*paths):
    """Import the bundled package with ``paths`` ahead of it, warnings as errors."""
    python_path = ":".join([*map(str, paths), str(ROOT / "sdk")])
    return subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", "import openintent"],
        env={"PYTHONPATH": python_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pypis_openintent_beside_it_is_warned_about(tmp_path):
    fake_distribution(tmp_path, "openintent", "0.17.0")
    result = import_openintent(tmp_path)
    assert result.returncode != 0
    assert "PyPI's openintent 0.17.0 is installed in the same environment" in result.stderr
    assert "own virtualenv" in result.stderr


def test_a_local_openintent_install_is_not_pypis(tmp_path):
    fake_distribution(tmp_path, "openintent", "0.10.0", direct_url='{"url": "file:///src/sdk", "dir_info": {}}')
    assert import_openintent(tmp_path).returncode == 0
    assert import_openintent().returncode == 0
