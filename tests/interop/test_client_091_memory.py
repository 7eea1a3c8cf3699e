"""The unmodified openintent 0.9.1 client (sync and async) against a live server: agent memory (RFC-0015).

Every memory method of both clients is called; the tests assert on the ``MemoryEntry`` models the client parsed,
on the exceptions it raised for the refusals 0.9.1's server never gave (a duplicate key, an out-of-list value,
another agent's entry), and on the filters it sends that 0.9.1's server ignored (``tags``, ``offset``)."""

import textwrap

import httpx
import pytest

from .conftest import AGENT, KEY, OTHER_AGENT

pytestmark = pytest.mark.interop

MEMORY_HELPERS = """
from openintent.models import MemoryEntry, MemoryPriority, MemorySensitivity, MemoryType


def as_entry(value):
    assert isinstance(value, MemoryEntry), type(value)
    return {
        "id": value.id,
        "agent_id": value.agent_id,
        "namespace": value.namespace,
        "key": value.key,
        "value": value.value,
        "memory_type": value.memory_type.value,
        "memory_type_is_enum": isinstance(value.memory_type, MemoryType),
        "priority_is_enum": isinstance(value.priority, MemoryPriority),
        "sensitivity": value.sensitivity.value if value.sensitivity else None,
        "version": value.version,
        "tags": value.tags,
        "ttl": value.ttl,
        "pinned": value.pinned,
        "scope": [value.scope.task_id, value.scope.intent_id] if value.scope else None,
        "created_at_parsed": isinstance(value.created_at, datetime),
        "expires_at": value.expires_at.isoformat() if value.expires_at else None,
    }


def keys(values):
    return [value.key for value in values]
"""


def script(body):
    return MEMORY_HELPERS + textwrap.dedent(body)


def test_memory_methods_of_the_sync_client(run_client, live_server_url):
    out = run_client(
        script(
            """
        entry = client.create_memory(
            AGENT,
            "invoice_processing",
            "batch_progress",
            {"total": 47, "completed": 23},
            scope={"task_id": "task-1", "intent_id": "intent-1"},
            tags=["batch", "in-progress"],
            ttl="task_lifetime",
            priority="high",
            sensitivity="internal",
        )
        out["created"] = as_entry(entry)
        learned = client.create_memory(
            AGENT, "learned_patterns", "stripe_thursdays", {"confidence": 0.85}, memory_type="episodic",
            tags=["stripe"], pinned=True,
        )
        out["learned"] = as_entry(learned)
        timed = client.create_memory(AGENT, "scratch", "timed", {}, ttl="duration:PT1H")
        out["timed"] = as_entry(timed)
        out["got"] = as_entry(client.get_memory(entry.id))

        out["listed"] = keys(client.list_memory(AGENT))
        out["by_namespace"] = keys(client.list_memory(AGENT, namespace="learned_patterns"))
        out["by_type"] = keys(client.list_memory(AGENT, memory_type="episodic"))
        out["by_tags"] = keys(client.list_memory(AGENT, tags=["batch", "in-progress"]))
        out["by_missing_tag"] = keys(client.list_memory(AGENT, tags=["zzz"]))
        out["paged"] = keys(client.list_memory(AGENT, limit=1, offset=1))

        updated = client.update_memory(entry.id, entry.version, value={"total": 47, "completed": 24}, tags=["batch"])
        out["updated"] = as_entry(updated)
        out["stale"] = caught(lambda: client.update_memory(entry.id, 1, value={"lost": True}))
        out["unknown_update"] = caught(lambda: client.update_memory(MISSING, 1, value={}))
        out["duplicate"] = caught(lambda: client.create_memory(AGENT, "invoice_processing", "batch_progress", {}))
        out["bad_type"] = caught(lambda: client.create_memory(AGENT, "n", "bad", {}, memory_type="long_term"))
        out["bad_priority"] = caught(lambda: client.create_memory(AGENT, "n", "bad", {}, priority="urgent"))
        out["listed_after_refusals"] = keys(client.list_memory(AGENT))

        out["other_get"] = caught(lambda: other.get_memory(entry.id))
        out["other_list"] = keys(other.list_memory(AGENT))
        out["other_update"] = caught(lambda: other.update_memory(entry.id, updated.version, value={}))
        out["other_delete"] = caught(lambda: other.delete_memory(entry.id))
        out["other_create_for_agent"] = caught(lambda: other.create_memory(AGENT, "n", "forged", {}))

        out["deleted"] = caught(lambda: client.delete_memory(entry.id))
        out["get_deleted"] = caught(lambda: client.get_memory(entry.id))
        out["delete_again"] = caught(lambda: client.delete_memory(entry.id))
        out["entry_id"] = entry.id
        """
        )
    )

    created = out["created"]
    assert created["agent_id"] == AGENT
    assert (created["namespace"], created["key"], created["value"]) == (
        "invoice_processing",
        "batch_progress",
        {"total": 47, "completed": 23},
    )
    assert (created["memory_type"], created["memory_type_is_enum"], created["priority_is_enum"]) == (
        "working",
        True,
        True,
    )
    assert (created["sensitivity"], created["version"], created["ttl"]) == ("internal", 1, "task_lifetime")
    assert created["scope"] == ["task-1", "intent-1"]
    assert created["tags"] == ["batch", "in-progress"]
    assert created["created_at_parsed"]
    assert (out["learned"]["memory_type"], out["learned"]["pinned"]) == ("episodic", True)
    assert out["timed"]["expires_at"] is not None
    assert out["got"] == created

    assert out["listed"] == ["batch_progress", "stripe_thursdays", "timed"]
    assert out["by_namespace"] == ["stripe_thursdays"]
    assert out["by_type"] == ["stripe_thursdays"]
    assert out["by_tags"] == ["batch_progress"]
    assert out["by_missing_tag"] == []
    assert out["paged"] == ["stripe_thursdays"]

    assert (out["updated"]["version"], out["updated"]["value"], out["updated"]["tags"]) == (
        2,
        {"total": 47, "completed": 24},
        ["batch"],
    )
    assert out["stale"]["type"] == "ConflictError"
    assert out["stale"]["current_version"] == 2
    assert out["unknown_update"]["type"] == "ConflictError"
    assert out["duplicate"]["type"] == "ConflictError"
    assert out["duplicate"]["current_version"] == 2
    # 0.9.1 stored these, after which every read of the agent's memory raised ValueError in the client.
    assert (out["bad_type"]["type"], out["bad_type"]["status_code"]) == ("OpenIntentError", 422)
    assert out["bad_priority"]["status_code"] == 422
    assert out["listed_after_refusals"] == out["listed"]

    assert out["other_get"]["type"] == "NotFoundError"
    assert out["other_list"] == []
    assert out["other_update"]["type"] == "ConflictError"
    assert out["other_delete"]["type"] == "NotFoundError"
    assert out["other_create_for_agent"]["status_code"] == 403

    assert out["deleted"]["type"] is None
    assert out["get_deleted"]["type"] == "NotFoundError"
    assert out["delete_again"]["type"] == "NotFoundError"
    response = httpx.get(f"{live_server_url}/api/v1/memory/{out['entry_id']}", headers={"X-API-Key": KEY})
    assert response.status_code == 404


def test_memory_methods_of_the_async_client(run_client):
    out = run_client(
        script(
            """
        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                entry = await aclient.create_memory(AGENT, "notes", "first", {"n": 1}, tags=["a", "b"])
                out["created"] = as_entry(entry)
                out["got"] = as_entry(await aclient.get_memory(entry.id))
                await aclient.create_memory(AGENT, "notes", "second", {"n": 2}, tags=["b"], memory_type="semantic")
                out["by_tags"] = keys(await aclient.list_memory(AGENT, tags=["a", "b"]))
                out["by_type"] = keys(await aclient.list_memory(AGENT, memory_type="semantic"))
                updated = await aclient.update_memory(entry.id, entry.version, pinned=True)
                out["updated"] = as_entry(updated)
                out["stale"] = await caught_async(aclient.update_memory(entry.id, 1, pinned=False))
                out["duplicate"] = await caught_async(aclient.create_memory(AGENT, "notes", "first", {}))
                out["deleted"] = await caught_async(aclient.delete_memory(entry.id))
                out["get_deleted"] = await caught_async(aclient.get_memory(entry.id))

        asyncio.run(main())
        """
        )
    )

    assert (out["created"]["key"], out["created"]["tags"]) == ("first", ["a", "b"])
    assert out["got"] == out["created"]
    assert out["by_tags"] == ["first"]
    assert out["by_type"] == ["second"]
    assert (out["updated"]["pinned"], out["updated"]["version"]) == (True, 2)
    assert (out["stale"]["type"], out["stale"]["current_version"]) == ("ConflictError", 2)
    assert out["duplicate"]["type"] == "ConflictError"
    assert out["deleted"]["type"] is None
    assert out["get_deleted"]["type"] == "NotFoundError"


def test_agents_on_one_key_keep_their_memory_apart(run_client):
    out = run_client(
        script(
            """
        first = OpenIntentClient(URL, KEY, "fleet-1")
        second = OpenIntentClient(URL, KEY, "fleet-2")
        mine = first.create_memory("fleet-1", "state", "cursor", {"at": 10})
        out["first_reads"] = as_entry(first.get_memory(mine.id))["value"]
        out["second_reads"] = caught(lambda: second.get_memory(mine.id))
        out["second_lists"] = keys(second.list_memory("fleet-1"))
        out["second_writes_as_first"] = caught(lambda: second.create_memory("fleet-1", "state", "other", {}))
        """
        )
    )

    assert out["first_reads"] == {"at": 10}
    assert out["second_reads"]["type"] == "NotFoundError"
    assert out["second_lists"] == []
    assert out["second_writes_as_first"]["status_code"] == 403


def test_the_other_agent_is_kept_out_over_raw_http_too(run_client, live_server_url):
    out = run_client(script('out["id"] = client.create_memory(AGENT, "n", "k", {}).id\n'))

    response = httpx.get(
        f"{live_server_url}/api/v1/agents/{AGENT}/memory", headers={"X-API-Key": KEY, "X-Agent-ID": OTHER_AGENT}
    )

    assert response.status_code == 200
    assert response.json() == []
    assert out["id"]
