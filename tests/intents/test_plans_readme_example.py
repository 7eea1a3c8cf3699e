"""The README's example of a three-task plan with a checkpoint runs as written against a live server."""

import re
import subprocess
import sys

from tests.conftest import ROOT


def readme_example():
    text = (ROOT / "README.md").read_text()
    start = text.index("A three-task plan with a checkpoint")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


def test_the_readme_plan_example_runs(live_server_url):
    source = readme_example().replace("http://localhost:8000", live_server_url)

    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "paused waiting"
    assert lines[1] == "completed"
    events = [name for name in eval(lines[2]) if name.startswith(("task.", "plan."))]  # noqa: S307  our own output
    assert events[-3:] == ["task.started", "task.completed", "plan.completed"]
    assert "plan.checkpoint_approved" in events
