"""Schemathesis over /openapi.json, against a live server on the test database (PostgreSQL in CI: ``make fuzz``).

Every operation the document describes is sent a few dozen generated requests, valid and invalid (and those of
schemathesis' coverage and stateful phases), as agent-research. The run fails on any server error, and on any answer
the document does not describe: a status it does not list, a media type it does not name (an answer that is not
JSON, where JSON is documented), a body or a header its schema does not allow.

``OPENINTENT_FUZZ_EXAMPLES`` and ``OPENINTENT_FUZZ_SEED`` change the number of generated requests per operation and
the seed (schemathesis prints the seed of every run, so a failure can be replayed with it)."""

import os
import subprocess
import sys

import pytest

from tests.conftest import start_server

EXAMPLES = int(os.environ.get("OPENINTENT_FUZZ_EXAMPLES", "30"))
SEED = os.environ.get("OPENINTENT_FUZZ_SEED", "20261207")
# A hard bound for CI: the run takes about a minute and a half on two cores at 30 examples per operation.
TIME_LIMIT_SECONDS = 600

# What schemathesis 4.32 checks, by its names: answers that contradict the document, and the server's own errors.
# Left out: positive_data_acceptance and negative_data_rejection, which judge the server's input validation against
# the schema (a random cursor or an unknown parent is valid by the schema and refused by the server, and DRF's text
# fields take numbers), not what the server answers.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
]

# A missing required header may also be refused with 428 Precondition Required (RFC 6585): what 0.9.1 answers, and
# this server keeps, for a task or plan write without If-Match.
CONFIG = """
[checks.missing_required_header]
expected-statuses = ["400", "401", "403", "406", "415", "422", "428"]
"""


@pytest.fixture
def fuzzed_server(server_env, transactional_db, keys):
    """One server on the test database holding the development keys. Without Redis even where the suite has it:
    the webhooks the run subscribes queue deliveries, which must not wait in a broker other runs' workers read."""
    env = {name: value for name, value in server_env.items() if name != "REDIS_URL"}
    server = start_server(env)
    yield server
    server.stop()


@pytest.mark.schemathesis
def test_every_operation_answers_as_the_document_says(fuzzed_server, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{fuzzed_server.url}/openapi.json",
        "--header",
        "X-API-Key: agent-research-key",
        "--checks",
        ",".join(CHECKS),
        # An SSE stream never ends, so no check could read its answer whole; tests/intents covers the streams.
        "--exclude-tag",
        "streams",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        SEED,
        # One worker: with more, Hypothesis describes strategies from several threads at once, and CPython 3.11's
        # ast.parse is not safe for that (SystemError "AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
    ]
    try:
        # In tmp_path: nothing the run writes lands in the work tree.
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=TIME_LIMIT_SECONDS)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"schemathesis did not finish within {TIME_LIMIT_SECONDS} s:\n{expired.stdout}")
    # Shown by pytest when the test fails: the whole report, each failure with a curl command that reproduces it.
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout[-3000:]
