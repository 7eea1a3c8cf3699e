"""Plan conditions (RFC-0012 §2.4): the ``when`` grammar, what it reads, and what it refuses."""

from types import SimpleNamespace

import pytest

from intents.plans import conditions

AUDIT = SimpleNamespace(
    output={"issues_found": 2, "tags": ["pii"], "ok": False, "rows": [{"n": 1}]}, status="completed", attempt=1
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("tasks['audit'].output.issues_found > 0", True),
        ("tasks['audit'].output.issues_found == 0", False),
        ("tasks['audit'].output['issues_found'] >= 2 && tasks['audit'].status == 'completed'", True),
        ("tasks['audit'].output.ok == false", True),
        ("!tasks['audit'].output.ok", True),
        ("'pii' in tasks['audit'].output.tags", True),
        ("tasks['audit'].output.rows[0].n == 1", True),
        ("tasks['audit'].output.missing", False),
        ("tasks['audit'].output.missing > 0", False),
        ("tasks['audit'].output.missing == null", False),
        ("tasks['audit'].output.tags > 1", False),
        ("tasks['audit'].attempt < 3 or false", True),
        ("tasks['other'].output.x", False),
        ("0 < tasks['audit'].output.issues_found < 5", True),
        # A path is keys of the output, never Python attributes.
        ("tasks['audit'].output.__class__", False),
    ],
)
def test_expressions_evaluate_over_task_outputs(when, expected):
    tree, references = conditions.parse(when)
    assert conditions.evaluate(tree, {"audit": AUDIT}) is expected
    assert references <= {"audit", "other"}


@pytest.mark.parametrize(
    "when",
    [
        "",
        "__import__('os').system('true')",
        "tasks['audit'].output.x()",
        "open('/etc/passwd')",
        "lambda: 1",
        "x",
        "tasks.audit.output",
        "tasks['audit'].secret",
        "tasks[0].output",
        "[x for x in tasks]",
        "1 if True else 2",
        "tasks['audit'].output.n + 1 > 2",
        "-" * 1999 + "1",
        "not " * 400 + "true",
        "(" * 300 + "1" + ")" * 300,
        "a" * 3000,
    ],
)
def test_anything_outside_the_grammar_is_refused(when):
    with pytest.raises(conditions.ConditionError):
        conditions.parse(when)
