"""Declared protocol objects (``@Plan``, ``@Vault`` from openintent.agents) against a live server, with both
clients: the product README's declarations create the plan with its tasks, dependencies and checkpoints and the
vault with its credentials and grants; creating again (a restarted program) duplicates nothing; a declaration that
cannot work is refused when the class is defined."""

import pytest
from openintent.agents import Plan, Vault

from .conftest import AGENT

README_PLAN = """
from openintent.agents import Plan

@Plan(strategy="topological", checkpoints=True)
class DeploymentPlan:
    build = {"assign": "builder", "timeout": 300}
    test = {"assign": "tester", "depends_on": ["build"]}
    deploy = {"assign": "deployer", "depends_on": ["test"]}
"""

README_VAULT = """
from openintent.agents import Vault

@Vault(name="production-keys", rotation_policy="90d")
class ProdVault:
    openai = {"scopes": ["chat.completions"], "rate_limit": 100}
    database = {"scopes": ["read", "write"]}
"""


def declared(block, name):
    namespace: dict = {}
    exec(compile(block, f"README {name}", "exec"), namespace)
    return namespace[name]


def test_the_readme_plan_creates_its_tasks_dependencies_and_checkpoints_once(oi):
    DeploymentPlan = declared(README_PLAN, "DeploymentPlan")
    intent = oi.create_intent("Deploy")
    plan = oi.run(DeploymentPlan.create(oi.client, intent.id)) if oi.is_async else DeploymentPlan.create(oi, intent.id)
    tasks = {task.name: task for task in oi.list_tasks(intent.id)}
    assert set(tasks) == {"build", "test", "deploy"} and plan.tasks == [
        tasks[n].id for n in ("build", "test", "deploy")
    ]
    assert tasks["test"].depends_on == [tasks["build"].id] and tasks["deploy"].depends_on == [tasks["test"].id]
    assert tasks["build"].permissions == {"allow": ["builder"]} and tasks["build"].timeout_seconds == 300
    assert [(c.name, c.after_task) for c in plan.checkpoints] == [
        ("after build", tasks["build"].id),
        ("after test", tasks["test"].id),
    ]
    assert plan.metadata["strategy"] == "topological"
    again = oi.run(DeploymentPlan.create(oi.client, intent.id)) if oi.is_async else DeploymentPlan.create(oi, intent.id)
    assert again.id == plan.id
    assert len(oi.list_tasks(intent.id)) == 3 and len(oi.list_plans(intent.id)) == 1

    # The plan runs as declared: only "build" is ready, and only its assignee may claim it.
    oi.activate_plan(plan.id, oi.get_plan(plan.id).version)
    ready = [task.name for task in oi.list_tasks(intent.id, status="ready")]
    assert ready == ["build"]


def test_sequential_plans_chain_their_tasks_and_bad_declarations_are_refused(oi):
    @Plan(name="chain")
    class Chain:
        first = {"description": "one"}
        second = {}
        third = {"depends_on": ["first"]}

    intent = oi.create_intent("Chained")
    plan = oi.run(Chain.create(oi.client, intent.id)) if oi.is_async else Chain.create(oi, intent.id)
    tasks = {task.name: task for task in oi.list_tasks(intent.id)}
    assert tasks["second"].depends_on == [tasks["first"].id] and tasks["third"].depends_on == [tasks["first"].id]
    assert plan.checkpoints == [] and plan.metadata["declared_plan"] == "chain"

    with pytest.raises(TypeError, match="unknown keys colour"):
        Plan()(type("P", (), {"a": {"colour": "red"}}))
    with pytest.raises(ValueError, match="depends on unknown nope"):
        Plan()(type("P", (), {"a": {"depends_on": ["nope"]}}))
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        Plan(strategy="parallel")(type("P", (), {"a": {"depends_on": ["b"]}, "b": {"depends_on": ["a"]}}))
    with pytest.raises(ValueError, match="strategy must be one of"):
        Plan(strategy="random")


def test_the_readme_vault_creates_its_credentials_and_grants_once(oi):
    ProdVault = declared(README_VAULT, "ProdVault")
    secrets = {"openai": "sk-test", "database": "postgres://secret"}
    grants = {"openai": [AGENT]}

    def create():
        if oi.is_async:
            return oi.run(ProdVault.create(oi.client, secrets, grants))
        return ProdVault.create(oi, secrets, grants)

    vault = create()
    assert vault.name == "production-keys"
    credentials = {c.service: c for c in oi.list_credentials(vault.id)}
    assert set(credentials) == {"openai", "database"}
    assert credentials["openai"].scopes_available == ["chat.completions"]
    assert credentials["openai"].metadata["rotation_policy"] == "90d"
    granted = oi.list_grants(AGENT, credential_id=credentials["openai"].id)
    assert [(g.scopes, g.constraints.max_invocations_per_hour) for g in granted] == [(["chat.completions"], 100)]

    assert create().id == vault.id
    assert len([v for v in oi.list_vaults() if v.name == "production-keys"]) == 1
    assert len(oi.list_credentials(vault.id)) == 2
    assert len(oi.list_grants(AGENT, credential_id=credentials["openai"].id)) == 1

    with pytest.raises(ValueError, match="rotation_policy"):
        Vault("v", rotation_policy="quarterly")
    with pytest.raises(TypeError, match="unknown keys secret"):
        Vault("v")(type("V", (), {"s": {"secret": "x"}}))
