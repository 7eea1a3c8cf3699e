"""RFC-0001 intents and RFC-0002 graphs with both clients against a live server."""

from datetime import UTC, datetime, timedelta

import pytest
from openintent import (
    AgentAssignment,
    ConflictError,
    EventType,
    Intent,
    IntentEvent,
    IntentPage,
    IntentStatus,
    ValidationError,
)

from .conftest import AGENT, OTHER_AGENT


def test_create_and_get_intent(oi):
    created = oi.create_intent(
        title="Research market trends",
        description="Analyze Q4",
        constraints={"deadline": "2027-02-01"},
        initial_state={"phase": "start"},
        confidence=40,
    )
    assert isinstance(created, Intent)
    assert created.status == IntentStatus.DRAFT and isinstance(created.status, IntentStatus)
    assert created.version == 1 and created.created_by == AGENT and created.confidence == 40
    assert created.constraints == {"deadline": "2027-02-01"} and created.state.get("phase") == "start"
    assert created.created_at is not None and created.created_at.tzinfo is not None
    assert created.created_at.utcoffset() == timedelta(0)
    fetched = oi.get_intent(created.id)
    assert fetched == created


def test_create_intent_constraints_list_parent_and_dependencies(oi):
    parent = oi.create_intent("Parent", constraints=["no weekends", "cite sources"], status="active")
    assert parent.constraints == {"rules": ["no weekends", "cite sources"]}
    assert parent.status == IntentStatus.ACTIVE
    first = oi.create_intent("First")
    child = oi.create_intent("Child", parent_intent_id=parent.id, depends_on=[first.id])
    assert child.parent_intent_id == parent.id and child.has_parent
    assert child.depends_on == [first.id] and child.has_dependencies
    assert child.status == IntentStatus.DRAFT  # blocked once work begins, until "First" completes


def test_list_intents_with_filters_and_paging(oi, other):
    made = [oi.create_intent(f"Listed {index}") for index in range(5)]
    theirs = other.create_intent("Someone else's", status=IntentStatus.ACTIVE)
    listed = oi.list_intents()
    assert [intent.id for intent in listed[:5]] == [intent.id for intent in reversed(made)] or len(listed) == 6
    assert {intent.id for intent in listed} == {intent.id for intent in made} | {theirs.id}
    assert [i.id for i in oi.list_intents(status="active")] == [theirs.id]
    assert [i.id for i in oi.list_intents(status=IntentStatus.ACTIVE)] == [theirs.id]
    assert {i.id for i in oi.list_intents(created_by=OTHER_AGENT)} == {theirs.id}
    assert len(oi.list_intents(q="listed")) == 5
    assert len(oi.list_intents(limit=2, offset=1)) == 2

    page = oi.list_intents_page(limit=4)
    assert isinstance(page, IntentPage) and len(page.intents) == 4 and page.next_cursor
    rest = oi.list_intents_page(limit=4, cursor=page.next_cursor)
    assert len(rest.intents) == 2 and rest.next_cursor is None
    assert {i.id for i in page.intents + rest.intents} == {i.id for i in listed}

    every = oi.iter_intents(page_size=2)
    assert [intent.id for intent in every] == [intent.id for intent in page.intents + rest.intents]
    assert [intent.id for intent in oi.iter_intents(q="Listed 3", page_size=1)] == [made[3].id]


def test_list_intents_by_parent(oi):
    parent = oi.create_intent("Parent")
    child = oi.create_child_intent(parent.id, "Child")
    assert [intent.id for intent in oi.list_intents(parent_id=parent.id)] == [child.id]


def test_update_state_status_and_version_checks(oi):
    intent = oi.create_intent("Stateful")
    patched = oi.update_state(intent.id, intent.version, {"progress": 0.5, "phase": "analysis"})
    assert patched.version == intent.version + 1
    assert patched.state.to_dict() == {"progress": 0.5, "phase": "analysis"}
    assert patched.status == IntentStatus.ACTIVE  # work began
    with pytest.raises(ConflictError) as caught:
        oi.update_state(intent.id, intent.version, {"progress": 0.9})
    assert caught.value.current_version == patched.version

    structured = oi.patch_state(
        intent.id,
        patched.version,
        [
            {"op": "set", "path": "/findings/first", "value": 1},
            {"op": "append", "path": "/log", "value": "a"},
            {"op": "remove", "path": "/phase"},
        ],
    )
    assert structured.state.to_dict() == {"progress": 0.5, "findings": {"first": 1}, "log": ["a"]}

    done = oi.set_status(intent.id, structured.version, IntentStatus.COMPLETED, reason="finished")
    assert done.status == IntentStatus.COMPLETED and done.version == structured.version + 1
    with pytest.raises(ConflictError):
        oi.set_status(intent.id, done.version, "active")


def test_events_log_and_filters(oi):
    intent = oi.create_intent("Logged")
    before = datetime.now(UTC) - timedelta(seconds=5)
    comment = oi.log_event(intent.id, EventType.COMMENT, {"text": "hello"})
    custom = oi.log_event(intent.id, "tool_invocation", {"tool": "search"})
    assert isinstance(comment, IntentEvent) and comment.event_type == EventType.COMMENT
    assert custom.event_type == "tool_invocation" and comment.actor == AGENT
    events = oi.get_events(intent.id)
    assert [event.event_type for event in events] == ["tool_invocation", EventType.COMMENT, EventType.INTENT_CREATED]
    assert all(event.created_at.tzinfo is not None for event in events)
    assert [e.id for e in oi.get_events(intent.id, event_type=EventType.COMMENT)] == [comment.id]
    assert [e.id for e in oi.get_events(intent.id, event_type="tool_invocation")] == [custom.id]
    assert len(oi.get_events(intent.id, since=before)) == 3
    assert oi.get_events(intent.id, since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(oi.get_events(intent.id, limit=1, offset=1)) == 1
    with pytest.raises(ValidationError):
        oi.log_event(intent.id, EventType.STATE_PATCHED, {})


def test_agents_assign_list_unassign(oi):
    intent = oi.create_intent("Assigned")
    mine = oi.assign_agent(intent.id)
    assert isinstance(mine, AgentAssignment) and mine.agent_id == AGENT and mine.role == "worker"
    theirs = oi.assign_agent(intent.id, OTHER_AGENT, role="reviewer")
    assert theirs.role == "reviewer"
    assert {a.agent_id for a in oi.get_agents(intent.id)} == {AGENT, OTHER_AGENT}
    assert oi.unassign_agent(intent.id) is None
    oi.unassign_agent(intent.id, OTHER_AGENT)
    assert oi.get_agents(intent.id) == []


def test_graph_routes(oi):
    root = oi.create_intent("Root", status="active")
    first = oi.create_child_intent(root.id, "First", constraints={"k": 1}, initial_state={"s": 1})
    assert first.parent_intent_id == root.id and first.constraints == {"k": 1}
    second = oi.create_child_intent(root.id, "Second", description="after first", depends_on=[first.id])
    grandchild = oi.create_child_intent(first.id, "Grandchild", constraints=["rule"])
    assert grandchild.constraints == {"rules": ["rule"]}

    assert {i.id for i in oi.get_children(root.id)} == {first.id, second.id}
    assert {i.id for i in oi.get_descendants(root.id)} == {first.id, second.id, grandchild.id}
    assert [i.id for i in oi.get_ancestors(grandchild.id)] == [first.id, root.id]
    assert [i.id for i in oi.get_dependencies(second.id)] == [first.id]
    assert [i.id for i in oi.get_dependents(first.id)] == [second.id]
    assert [i.id for i in oi.get_ready_intents(root.id)] == [first.id]
    assert [i.id for i in oi.get_blocked_intents(root.id)] == [second.id]
    graph = oi.get_intent_graph(root.id)
    assert graph["root_id"] == root.id and len(graph["nodes"]) == 4

    third = oi.create_intent("Third")
    second = oi.get_intent(second.id)
    added = oi.add_dependency(second.id, third.id, second.version)
    assert set(added.depends_on) == {first.id, third.id} and added.version == second.version + 1
    with pytest.raises(ValidationError):  # a cycle
        oi.add_dependency(third.id, second.id, third.version)
    with pytest.raises(ConflictError):
        oi.add_dependency(second.id, root.id, second.version)
    removed = oi.remove_dependency(second.id, third.id, added.version)
    assert removed.depends_on == [first.id] and removed.version == added.version + 1
