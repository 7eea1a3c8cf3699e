"""The intent template of a trigger (RFC-0017 §5): its keys, and the ``{{ }}`` expressions in its strings.

Expressions are rendered by Jinja2's sandbox with StrictUndefined, restricted further to what §5.1 and the Security
section ask for: ``{{ expression }}`` only (no ``{% %}`` statements, no loops, no function calls, no arithmetic that
could build huge values), variables from a fixed list per trigger type, and a short list of filters. The names an
expression uses are checked when the trigger is created or changed, so that a typo is a 422 then, not a failed fire
at three in the morning. A string that is one expression and nothing else keeps the value's own type (a number
from a webhook body stays a number in the intent's state)."""

import re

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from intents.models import IntentPriority

from .models import TriggerType

# The variables of RFC-0017 §5.1, and the date and time of the fire, by trigger type.
COMMON_NAMES = {"trigger", "date", "now"}
NAMES = {
    TriggerType.SCHEDULE: COMMON_NAMES | {"scheduled_for"},
    TriggerType.EVENT: COMMON_NAMES | {"event"},
    TriggerType.WEBHOOK: COMMON_NAMES | {"body", "headers", "query"},
}
FILTERS = {
    "default",
    "lower",
    "upper",
    "title",
    "capitalize",
    "trim",
    "replace",
    "truncate",
    "string",
    "int",
    "float",
    "round",
    "abs",
    "length",
    "join",
    "first",
    "last",
    "tojson",
}
# The expression nodes allowed: reading variables, their attributes and items, constants, filters, comparisons,
# conditionals and string concatenation (``~``). No calls, no arithmetic, no comprehensions.
ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Const,
    nodes.Filter,
    nodes.Test,
    nodes.Concat,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.List,
    nodes.Tuple,
    nodes.Keyword,
)
MAX_TEMPLATE_TEXT = 10_000
MAX_RENDERED_TEXT = 100_000

KEYS = {
    "type",
    "title",
    "description",
    "priority",
    "assignee",
    "context",
    "constraints",
    "tags",
    "namespace",
    "graph_id",
}

WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>(?:(?!\}\}|\{\{).)*)\}\}\s*$", re.DOTALL)


class TemplateError(Exception):
    """A template that breaks a rule. ``loc`` is the path to the offending value within the template."""

    def __init__(self, loc, message):
        super().__init__(message)
        self.loc = loc
        self.message = message


def environment():
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in FILTERS}
    return env


ENV = environment()


def strings(value, loc=()):
    """Every string in a JSON value (keys included), with its path."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*loc, key), str(key)
            yield from strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, (*loc, index))


def check_text(text, allowed, loc):
    """Refuse ``text`` unless it parses, uses only allowed syntax and filters, and names only ``allowed``."""
    if len(text) > MAX_TEMPLATE_TEXT:
        raise TemplateError(loc, f"At most {MAX_TEMPLATE_TEXT} characters")
    if "{%" in text or "{#" in text:
        raise TemplateError(
            loc, "Only {{ expression }} is allowed in templates, not {% statements %} or {# comments #}"
        )
    try:
        tree = ENV.parse(text)
    except TemplateSyntaxError as error:
        raise TemplateError(loc, f"Template syntax error: {error.message}") from None
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, ALLOWED_NODES):
            raise TemplateError(loc, f"Not allowed in a template expression: {type(node).__name__}")
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            raise TemplateError(loc, f"Unknown filter '{node.name}'; the filters are: {', '.join(sorted(FILTERS))}")
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise TemplateError(loc, f"Attribute '{node.attr}' may not be read")
        key = node.arg.value if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) else None
        if isinstance(key, str) and key.startswith("_"):
            raise TemplateError(loc, f"Attribute '{key}' may not be read")
    unknown = meta.find_undeclared_variables(tree) - allowed
    if unknown:
        raise TemplateError(
            loc,
            f"Unknown name{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))}; "
            f"this trigger's templates may use: {', '.join(sorted(allowed))}",
        )


def check(template, trigger_type, loc=("body", "intent_template")):
    """Refuse a template with unknown keys, ill-typed values or expressions that break the rules above."""
    if not isinstance(template, dict):
        raise TemplateError(loc, "Input should be a valid dictionary")
    unknown = set(template) - KEYS
    if unknown:
        raise TemplateError((*loc, sorted(unknown)[0]), f"Unknown key; the keys are: {', '.join(sorted(KEYS))}")
    if not isinstance(template.get("title"), str) or not template["title"].strip():
        raise TemplateError((*loc, "title"), "A template needs a title (a string)")
    for key in ("type", "description", "priority", "assignee", "namespace", "graph_id"):
        if template.get(key) is not None and not isinstance(template[key], str):
            raise TemplateError((*loc, key), "Input should be a valid string")
    for key in ("context", "constraints"):
        if template.get(key) is not None and not isinstance(template[key], dict):
            raise TemplateError((*loc, key), "Input should be a valid dictionary")
    tags = template.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        raise TemplateError((*loc, "tags"), "Input should be a valid list of strings")
    priority = template.get("priority")
    if isinstance(priority, str) and "{{" not in priority and priority not in IntentPriority.values:
        raise TemplateError((*loc, "priority"), f"Input should be {', '.join(IntentPriority.values)}")
    allowed = NAMES[TriggerType(trigger_type)]
    for path, text in strings(template, loc):
        if "{{" in text or "{%" in text or "{#" in text:
            check_text(text, allowed, path)


def render_text(text, variables, loc):
    try:
        whole = WHOLE_EXPRESSION.match(text)
        if whole:
            value = ENV.compile_expression(whole["expression"], undefined_to_none=False)(**variables)
            if isinstance(value, StrictUndefined):
                str(value)  # raises UndefinedError naming what is missing
            return value
        rendered = ENV.from_string(text).render(**variables)
    except UndefinedError as error:
        raise TemplateError(loc, f"The template names something this fire does not carry: {error.message}") from None
    except (SecurityError, TypeError, ValueError, ArithmeticError) as error:
        raise TemplateError(loc, f"The template could not be rendered: {error}") from None
    if len(rendered) > MAX_RENDERED_TEXT:
        raise TemplateError(loc, f"The rendered text is longer than {MAX_RENDERED_TEXT} characters")
    return rendered


def render(value, variables, loc=("intent_template",)):
    """``value`` with every string that holds an expression rendered from ``variables``."""
    if isinstance(value, str):
        return render_text(value, variables, loc) if "{{" in value else value
    if isinstance(value, dict):
        return {
            str(render(str(key), variables, loc)): render(item, variables, (*loc, key)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [render(item, variables, (*loc, index)) for index, item in enumerate(value)]
    return value
