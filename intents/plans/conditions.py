"""Plan conditions (RFC-0012 §2.4): ``when`` expressions over the outputs of a plan's tasks.

The RFC writes them ``tasks['audit'].output.issues_found > 0``. The grammar taken here is that and no more:
``tasks['<task id or name>']`` followed by ``.output``, ``.status`` or ``.attempt`` and any path of ``.key`` or
``['key']`` / ``[0]`` into the output; JSON or Python literals (``true``, ``false``, ``null``, numbers, strings,
lists); comparisons (``== != < <= > >= in not in``); ``and``, ``or``, ``not`` and parentheses. A reference alone is
taken for its truth. Nothing else parses, so nothing else can run: expressions are read with Python's ``ast`` and
walked here, never evaluated by Python.
"""

import ast
import operator
import re

LITERAL_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
TASK_FIELDS = {"output", "status", "attempt"}
COMPARISONS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda left, right: left in right,
    ast.NotIn: lambda left, right: left not in right,
}
MAX_LENGTH = 2000
MAX_DEPTH = 100


class ConditionError(ValueError):
    """A ``when`` expression outside the grammar."""


class Missing:
    """What a path through an output finds where there is nothing: false, equal to nothing, ordered with nothing."""

    def __bool__(self):
        return False

    def __eq__(self, other):
        return False

    def __hash__(self):
        return 0


MISSING = Missing()


def parse(text):
    """The checked tree of ``text``, and the task references (ids or names) it reads. ConditionError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("A condition's `when` must be a non-empty expression")
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"A condition's `when` takes at most {MAX_LENGTH} characters")
    # ``&&``, ``||`` and ``!`` as JavaScript-minded authors write them.
    source = re.sub(r"&&", " and ", text)
    source = re.sub(r"\|\|", " or ", source)
    source = re.sub(r"!(?!=)", " not ", source)
    try:
        tree = ast.parse(source.strip(), mode="eval").body
        references = set()
        check(tree, references)
    except SyntaxError as exc:
        raise ConditionError(f"Not an expression: {exc.msg}") from None
    except RecursionError:
        raise ConditionError(f"Nested deeper than {MAX_DEPTH} levels") from None
    if depth_of(tree) > MAX_DEPTH:
        raise ConditionError(f"Nested deeper than {MAX_DEPTH} levels")
    return tree, references


def depth_of(tree):
    """How deep ``tree`` nests (walked without recursion): evaluation recurses once per level."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def check(node, references):
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            check(value, references)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        check(node.operand, references)
    elif isinstance(node, ast.Compare):
        if not all(type(op) in COMPARISONS for op in node.ops):
            raise ConditionError("Only == != < <= > >= in and not in compare")
        for part in [node.left, *node.comparators]:
            check(part, references)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (str, int, float, bool, type(None))):
            raise ConditionError("Only strings, numbers, true, false and null are literals")
    elif isinstance(node, ast.Name):
        if node.id not in LITERAL_NAMES:
            raise ConditionError(f"Unknown name {node.id!r}: write tasks['<task>'].output...")
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            check(element, references)
    elif isinstance(node, (ast.Attribute, ast.Subscript)):
        references.add(reference_of(node))
    else:
        raise ConditionError(f"{type(node).__name__} is not allowed in a condition")


def path_of(node):
    """``tasks['a'].output.x[0]`` as ``('a', ['output', 'x', 0])``."""
    steps = []
    while True:
        if isinstance(node, ast.Attribute):
            steps.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if not (isinstance(key, ast.Constant) and isinstance(key.value, (str, int))):
                raise ConditionError("Subscripts must be a string or a whole number")
            if isinstance(node.value, ast.Name) and node.value.id == "tasks":
                if not isinstance(key.value, str):
                    raise ConditionError("tasks[...] takes a task's id or name as a string")
                steps.reverse()
                return key.value, steps
            steps.append(key.value)
            node = node.value
        else:
            raise ConditionError("A reference starts with tasks['<task id or name>']")


def reference_of(node):
    task, steps = path_of(node)
    if not steps or steps[0] not in TASK_FIELDS:
        raise ConditionError(f"After tasks['{task}'] comes .output, .status or .attempt")
    return task


def evaluate(tree, tasks):
    """The truth of a checked tree, reading ``tasks``: task reference -> the task."""
    return bool(value_of(tree, tasks))


def value_of(node, tasks):
    if isinstance(node, ast.BoolOp):
        values = (value_of(value, tasks) for value in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        operand = value_of(node.operand, tasks)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(operand, (int, float)) and not isinstance(operand, bool) else MISSING
    if isinstance(node, ast.Compare):
        left = value_of(node.left, tasks)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = value_of(comparator, tasks)
            try:
                if not COMPARISONS[type(op)](left, right):
                    return False
            except TypeError:
                # Values of kinds that do not order (a missing key, a string against a number) compare false.
                return False
            left = right
        return True
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return LITERAL_NAMES[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [value_of(element, tasks) for element in node.elts]
    task_ref, steps = path_of(node)
    task = tasks.get(task_ref)
    if task is None:
        return MISSING
    value = {"output": task.output, "status": task.status, "attempt": task.attempt}[steps[0]]
    for step in steps[1:]:
        in_object = isinstance(value, dict) and isinstance(step, str) and step in value
        in_list = isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value)
        if not (in_object or in_list):
            return MISSING
        value = value[step]
    return value
