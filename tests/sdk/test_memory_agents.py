"""RFC-0015 agent memory and RFC-0016 the agent registry with both clients against a live server: the flat
methods (0.9.1's names) and ``client.memory`` / ``client.agents``."""

import pytest
from openintent import (
    AgentRecord,
    AgentStatus,
    ConflictError,
    GoneError,
    HeartbeatAck,
    MemoryEntry,
    MemoryPage,
    MemoryType,
    NotFoundError,
    PermissionDeniedError,
    PreconditionRequiredError,
    ValidationError,
)

from .conftest import AGENT, KEY, MISSING, OTHER_AGENT


def test_memory_entries_store_recall_update_and_delete(oi):
    entry = oi.create_memory(AGENT, "research", "sources", {"urls": ["a", "b"]}, tags=["research", "web"])
    assert isinstance(entry, MemoryEntry) and entry.agent_id == AGENT and entry.namespace == "research"
    assert entry.value == {"urls": ["a", "b"]} and entry.memory_type == MemoryType.WORKING and entry.version == 1
    assert entry.tags == ["research", "web"]
    episodic = oi.create_memory(None, "research", "lesson", {"text": "cite"}, MemoryType.EPISODIC, pinned=True)
    assert episodic.agent_id == AGENT and episodic.pinned and episodic.memory_type == MemoryType.EPISODIC
    with pytest.raises(ConflictError) as taken:
        oi.create_memory(AGENT, "research", "sources", {})
    assert taken.value.current_version == 1

    assert oi.get_memory(entry.id).key == "sources"
    assert {e.id for e in oi.list_memory(AGENT)} == {entry.id, episodic.id}
    assert [e.id for e in oi.list_memory(AGENT, tags=["web"])] == [entry.id]
    assert [e.id for e in oi.list_memory(AGENT, memory_type="episodic")] == [episodic.id]
    assert [e.id for e in oi.list_memory(AGENT, "research", key_prefix="sou")] == [entry.id]
    page = oi.query_memory(agent_id=AGENT, tags_any=["web", "nothing"])
    assert isinstance(page, MemoryPage) and page.total == 1 and page.entries[0].id == entry.id

    updated = oi.update_memory(entry.id, entry.version, value={"urls": ["c"]}, tags=["done"])
    assert updated.version == 2 and updated.value == {"urls": ["c"]} and updated.tags == ["done"]
    with pytest.raises(ConflictError):
        oi.update_memory(entry.id, 1, value={})
    with pytest.raises(ConflictError):
        oi.delete_memory(entry.id, version=1)
    assert oi.delete_memory(entry.id) is None
    with pytest.raises(NotFoundError):
        oi.get_memory(entry.id)
    with pytest.raises(ValidationError):
        oi.create_memory(AGENT, "research", "bad", {}, "forever")


def test_memory_batches_summary_and_namespaces(oi, person, django_user_model):
    written = oi.write_memory_batch(
        [
            {"namespace": "batch", "key": "one", "value": {"n": 1}},
            {"namespace": "batch", "key": "two", "value": {"n": 2}, "memory_type": MemoryType.EPISODIC},
        ]
    )
    assert [e.key for e in written] == ["one", "two"] and written[1].memory_type == MemoryType.EPISODIC
    summary = oi.get_memory_summary(AGENT)
    assert summary["agent_id"] == AGENT and "working" in summary

    fact = oi.create_memory(AGENT, "facts.sdk", "pi", {"value": 3.14}, MemoryType.SEMANTIC)
    assert fact.memory_type == MemoryType.SEMANTIC
    namespace = oi.get_memory_namespace("facts.sdk")
    assert namespace.namespace == "facts.sdk" and namespace.entry_count == 1 and not namespace.configured
    assert "facts.sdk" in [item.namespace for item in oi.list_memory_namespaces()]
    rules = [{"agent": OTHER_AGENT, "access": "write"}]
    with pytest.raises(PermissionDeniedError):
        oi.set_memory_namespace_permissions("facts.sdk", "read", rules)
    django_user_model.objects.filter(username="reviewer").update(is_staff=True)
    allowed = person.set_memory_namespace_permissions("facts.sdk", "read", rules)
    assert allowed.configured and allowed.default == "read" and allowed.allow == rules
    with pytest.raises(ConflictError):
        person.set_memory_namespace_permissions("facts.sdk", "none", [], version=allowed.version + 1)


def test_the_memory_namespace_names_the_same_methods(oi):
    stored = oi.memory.store(AGENT, "notes", "k", {"v": 1}, tags=["research"])
    assert [e.id for e in oi.memory.recall(AGENT, tags=["research"])] == [stored.id]
    assert oi.memory.get(stored.id).value == {"v": 1}
    assert oi.memory.update(stored.id, stored.version, pinned=True).pinned
    assert oi.memory.query(agent_id=AGENT, namespace="notes").total == 1
    assert oi.memory.forget(stored.id) is None
    with pytest.raises(NotFoundError):
        oi.memory.get(stored.id)
    with pytest.raises(PreconditionRequiredError):
        oi.memory.update(MISSING, None, value={})


def test_agents_register_heartbeat_and_drain(oi, clients):
    record = oi.register_agent("sdk-worker-1", ["summarise", "translate"], name="Worker", role_id="writers")
    assert isinstance(record, AgentRecord) and record.agent_id == "sdk-worker-1"
    assert record.status == AgentStatus.ACTIVE and record.version >= 1
    assert record.capabilities == ["summarise", "translate"] and record.role_id == "writers"
    assert oi.get_agent_record("sdk-worker-1").name == "Worker"
    assert "sdk-worker-1" in [a.agent_id for a in oi.list_agents(AgentStatus.ACTIVE)]
    assert [a.agent_id for a in oi.list_agents(capabilities=["translate"])] == ["sdk-worker-1"]
    assert [a.agent_id for a in oi.list_agents(role_id="writers")] == ["sdk-worker-1"]
    assert any(pool["role_id"] == "writers" for pool in oi.list_agent_pools())

    ack = oi.agent_heartbeat("sdk-worker-1", current_load=2, tasks_in_progress=["t1"])
    assert isinstance(ack, HeartbeatAck) and ack.agent_id == "sdk-worker-1" and ack.acknowledged
    assert ack.agent_status == AgentStatus.ACTIVE and not ack.drain_requested and ack.next_heartbeat_at is not None
    assert oi.get_agent_record("sdk-worker-1").capacity.current_load == 2

    worker = clients(KEY, "sdk-worker-1")  # the agent itself drains: no command waits for it
    draining = worker.drain_agent(drain_timeout_seconds=30, reason="deploy")
    assert draining.status == AgentStatus.DRAINING and draining.drain_timeout_seconds == 30
    assert oi.get_agent_events("sdk-worker-1")
    gone = worker.deregister_agent("sdk-worker-1")
    assert gone.status == AgentStatus.DEREGISTERED
    with pytest.raises(GoneError):
        oi.agent_heartbeat("sdk-worker-1")
    with pytest.raises(NotFoundError):
        oi.get_agent_record("nobody-at-all")

    oi.register_agent("sdk-worker-2")
    second = clients(KEY, "sdk-worker-2")
    with pytest.raises(ConflictError):
        second.update_agent_status("sdk-worker-2", AgentStatus.DRAINING, version=99)
    assert second.update_agent_status("sdk-worker-2", "draining").status == AgentStatus.DRAINING


def test_a_drain_by_an_administrator_reaches_the_agent_in_its_heartbeat(oi, person, django_user_model):
    oi.register_agent("sdk-worker-3")
    with pytest.raises(PermissionDeniedError):
        person.drain_agent("sdk-worker-3")
    django_user_model.objects.filter(username="reviewer").update(is_staff=True)
    assert person.drain_agent("sdk-worker-3", reason="maintenance").status == AgentStatus.DRAINING
    ack = oi.agent_heartbeat("sdk-worker-3")
    assert ack.drain_requested and ack.pending_commands[0]["reason"] == "maintenance"


def test_the_agents_namespace_names_the_same_methods(oi, clients):
    record = oi.agents.register("sdk-worker-4", ["x"])
    assert oi.agents.get(record.agent_id).capabilities == ["x"]
    assert oi.agents.heartbeat(record.agent_id, 1).agent_id == record.agent_id
    with pytest.raises(PermissionDeniedError):  # another agent's drain is an administrator's
        oi.agents.drain(record.agent_id)
    assert clients(KEY, "sdk-worker-4").agents.drain().status == AgentStatus.DRAINING
    assert "sdk-worker-4" in [a.agent_id for a in oi.agents.list("draining")]
    with pytest.raises(NotFoundError):
        oi.agents.get("sdk-missing")
