"""The one gate every task and plan write passes before it is made: where rules from outside this area are checked.

Coordinator guardrails (RFC-0013: budget, tasks per plan, delegation depth, concurrent tasks, capabilities, plan
review) belong to the governance app, which this app may not import. Governance registers its checks here instead;
each write calls :func:`check` inside its transaction, after its own rules and before anything is written, with
what it is about to do. A check refuses by raising a domain error, which rolls the write back whole.
"""

CHECKS = []

# The actions :func:`check` is called with, and the facts each passes (besides ``intent``, ``actor``):
#   "task.create"    task (unsaved), plan (or None), parent_task (or None)
#   "task.claim"     task
#   "task.start"     task
#   "task.complete"  task, output
#   "task.fail"      task, error
#   "task.delegate"  task, capability, delegated_to
#   "task.escalate"  task, reason
#   "task.cancel"    task
#   "task.update"    task, changes
#   "plan.create"    plan (unsaved), tasks
#   "plan.update"    plan, changes
#   "plan.activate" / "plan.pause" / "plan.resume" / "plan.cancel"   plan
#   "checkpoint.approve" / "checkpoint.reject"   plan, checkpoint
ACTIONS = frozenset(
    {
        "task.create",
        "task.claim",
        "task.start",
        "task.complete",
        "task.fail",
        "task.delegate",
        "task.escalate",
        "task.cancel",
        "task.update",
        "plan.create",
        "plan.update",
        "plan.activate",
        "plan.pause",
        "plan.resume",
        "plan.cancel",
        "checkpoint.approve",
        "checkpoint.reject",
    }
)


def register(check_function):
    """Add ``check_function(action, intent, actor, **facts)``; registering the same function twice adds it once."""
    if check_function not in CHECKS:
        CHECKS.append(check_function)
    return check_function


def unregister(check_function):
    if check_function in CHECKS:
        CHECKS.remove(check_function)


def check(action, intent, actor, **facts):
    assert action in ACTIONS, action
    for check_function in list(CHECKS):
        check_function(action, intent, actor, **facts)
