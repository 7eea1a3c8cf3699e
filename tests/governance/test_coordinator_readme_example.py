"""The README's coordinator example (a three-task plan with a checkpoint under a coordinator with guardrails) runs as
written against a live server, and prints what its comments say."""

import re
import subprocess
import sys

from django.contrib.auth import get_user_model

from openintent_site.models import ApiKey, hash_key
from tests.conftest import ROOT

INTRO = "A three-task plan with a checkpoint under a coordinator with guardrails"


def readme_example():
    text = (ROOT / "README.md").read_text()
    after = text[text.index(INTRO) :]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def test_the_readme_coordinator_example_runs(live_server_url):
    # As `make run` seeds it: dev-user-key is the key of the person dev-user (the test keys bind it to an agent).
    person = get_user_model().objects.create_user("dev-user")
    ApiKey.objects.filter(key_hash=hash_key("dev-user-key")).update(agent_id="", user=person)
    source = readme_example().replace("http://localhost:8000", live_server_url)

    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120, cwd=ROOT)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "409 max_tasks_per_plan 3",
        "requires_plan_review",
        "completed",
        "['requires_plan_review', 'max_tasks_per_plan']",
        "['coordinator.decision', 'decision_recorded', 'lease_acquired']",
    ]
