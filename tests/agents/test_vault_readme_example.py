"""The README's vault example (register a tool, store a credential, grant it, invoke it) runs as written against a
live server, and prints what its comments say."""

import re
import subprocess
import sys

from tests.conftest import ROOT

INTRO = "Register a tool, store a credential and grant it"


def readme_example():
    text = (ROOT / "README.md").read_text()
    after = text[text.index(INTRO) :]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def test_the_readme_vault_example_runs(live_server_url):
    source = readme_example().replace("http://localhost:8000", live_server_url)
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True False", "intents.get", "success Read me through the proxy", "True"]
