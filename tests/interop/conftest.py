"""The unmodified ``openintent==0.9.1`` client from PyPI, in a virtualenv of its own, driving a live server.

The client is installed with pip into ``var/interop-venv`` (created with ``python -m venv`` when missing or
broken, reused when it already holds openintent 0.9.1). Each test sends a script to that venv's interpreter;
the script prints one JSON result line, which the test asserts on. If pip cannot install the client the tests
fail: they never skip.
"""

import fcntl
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "var" / "interop-venv"
CLIENT_VERSION = "0.9.1"
REQUIREMENT = f"openintent=={CLIENT_VERSION}"
RESULT_MARK = "INTEROP-RESULT "

KEY, AGENT = "agent-research-key", "agent-research"
OTHER_KEY, OTHER_AGENT = "agent-synth-key", "agent-synth"

# Run at the top of every client script. It only reads the installed client; it never patches it.
PRELUDE = r'''
import asyncio
import json
import os
import sys
from datetime import datetime

import openintent
from openintent import (
    AsyncOpenIntentClient,
    ConflictError,
    LeaseConflictError,
    NotFoundError,
    OpenIntentClient,
    OpenIntentError,
    ValidationError,
)
from openintent.models import EventType, Intent, IntentEvent, IntentLease, IntentStatus, LeaseStatus

URL, KEY, AGENT, OTHER_KEY, OTHER_AGENT = sys.argv[1:6]
MISSING = "00000000-0000-4000-8000-000000000000"
client = OpenIntentClient(URL, KEY, AGENT)
other = OpenIntentClient(URL, OTHER_KEY, OTHER_AGENT)
out = {"client": {"version": openintent.__version__, "file": openintent.__file__}}


def as_intent(value):
    assert isinstance(value, Intent), type(value)
    data = value.to_dict()
    data["status_is_enum"] = isinstance(value.status, IntentStatus)
    data["has_parent"] = value.has_parent
    return data


def as_intents(values):
    assert isinstance(values, list), type(values)
    return [as_intent(value) for value in values]


def as_lease(value):
    assert isinstance(value, IntentLease), type(value)
    data = value.to_dict()
    data["status_is_enum"] = isinstance(value.status, LeaseStatus)
    # Recorded through caught(): 0.9.1's is_active compares the aware expires_at with naive datetime.now(), which
    # raises TypeError now that timestamps carry their offset; the tests show that rather than stop on it.
    data["is_active"] = caught(lambda: value.is_active)
    return data


def as_event(value):
    assert isinstance(value, IntentEvent), type(value)
    data = value.to_dict()
    data["event_type_is_enum"] = isinstance(value.event_type, EventType)
    return data


def as_events(values):
    assert isinstance(values, list), type(values)
    return [as_event(value) for value in values]


def error(exc):
    info = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, OpenIntentError):
        info["status_code"] = exc.status_code
        info["response"] = exc.response
        info["current_version"] = getattr(exc, "current_version", None)
        info["existing_lease"] = getattr(exc, "existing_lease", None)
        info["errors"] = getattr(exc, "errors", None)
    return info


def caught(call):
    """What ``call()`` raised, as a dict; ``{"type": None}`` when it raised nothing."""
    try:
        value = call()
    except Exception as exc:
        return error(exc)
    return {"type": None, "value": repr(value)}


async def caught_async(awaitable):
    try:
        value = await awaitable
    except Exception as exc:
        return error(exc)
    return {"type": None, "value": repr(value)}
'''

# The script leaves without interpreter finalization: 0.9.1's stream threads may still be reconnecting (B-12),
# and CPython tearing down under a running daemon thread once crashed a script that had finished (exit -11).
EPILOGUE = '\nprint("INTEROP-RESULT " + json.dumps(out, default=str), flush=True)\nsys.stderr.flush()\nos._exit(0)\n'


def isolated_env():
    """The environment for the client venv: nothing of this project's interpreter leaks in; clock in UTC."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "DJANGO_SETTINGS_MODULE"}
    }
    # 0.9.1 sends some times as naive local ones (datetime.now() + ..., as a subscription's expires_at), which the
    # server reads as UTC: a UTC clock keeps them meaning what the client meant.
    env["TZ"] = "UTC"
    return env


def venv_python():
    return VENV / "bin" / "python"


def installed_client_version():
    python = venv_python()
    if not python.exists():
        return None
    probe = "from importlib.metadata import version; print(version('openintent'))"
    try:
        result = subprocess.run(
            [str(python), "-I", "-c", probe], capture_output=True, text=True, env=isolated_env(), timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def venv_has_pip():
    """Whether the venv exists and its interpreter runs pip (a half-made or moved venv is recreated)."""
    python = venv_python()
    if not python.exists():
        return False
    try:
        result = subprocess.run(
            [str(python), "-I", "-m", "pip", "--version"], capture_output=True, env=isolated_env(), timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def run_step(command, what, timeout):
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=isolated_env(), timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"{what} failed: {exc}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}",
            pytrace=False,
        )


def ensure_client_venv():
    """Create (or repair) the venv and install the pinned client. Serialised across processes by a file lock."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "interop-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_client_version() == CLIENT_VERSION:
            return venv_python()
        if not venv_has_pip():
            run_step([sys.executable, "-m", "venv", "--clear", str(VENV)], "Creating the interop venv", 300)
        pip = [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run_step([*pip, REQUIREMENT], f"pip install {REQUIREMENT}", 600)
        version = installed_client_version()
        if version != CLIENT_VERSION:
            pytest.fail(f"The interop venv holds openintent {version!r}, not {CLIENT_VERSION}", pytrace=False)
        return venv_python()


@pytest.fixture(scope="session")
def client_python():
    """The interpreter of the venv holding the unmodified openintent 0.9.1 (installed on first use)."""
    return ensure_client_venv()


@pytest.fixture
def run_client(client_python, live_server_url, tmp_path):
    """Run a script with the 0.9.1 client against the live server; return the ``out`` dict it filled.

    The script sees ``client`` (agent-research), ``other`` (agent-synth), ``URL``, ``MISSING`` and the helpers
    of ``PRELUDE``, and records what it observed in ``out``.
    """

    def run(script, key=KEY, agent=AGENT, timeout=180):
        source = PRELUDE + textwrap.dedent(script) + EPILOGUE
        command = [str(client_python), "-I", "-c", source, live_server_url, key, agent, OTHER_KEY, OTHER_AGENT]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, env=isolated_env(), cwd=tmp_path, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"client script timed out after {timeout}s: {exc.stderr!r}", pytrace=False)
        if result.returncode != 0:
            pytest.fail(
                f"client script failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}",
                pytrace=False,
            )
        lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_MARK)]
        assert lines, f"client script printed no result:\n{result.stdout}\n{result.stderr}"
        out = json.loads(lines[-1][len(RESULT_MARK) :])
        assert out["client"]["version"] == CLIENT_VERSION
        assert Path(out["client"]["file"]).resolve().is_relative_to(VENV.resolve()), out["client"]["file"]
        return out

    return run
