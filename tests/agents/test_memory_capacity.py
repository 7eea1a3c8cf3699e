"""Each memory tier within its capacity (RFC-0015 §2.2, §9.4), and expired entries removed (§9.3): working memory
refuses with 429 when full, episodic memory evicts its least recently used unpinned entries, semantic namespaces
refuse when full; a periodic job removes expired entries; evictions and expiries are logged."""

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from agents import tasks
from agents.models import MemoryEntry, MemoryEvent
from tests.conftest import new_intent

RESEARCH = "agent-research"


@pytest.fixture(autouse=True)
def every_read_counts(settings):
    # Reads record their access at most once per resolution; at 0 every read does, so the order is the test's.
    settings.OPENINTENT_MEMORY_ACCESS_RESOLUTION_SECONDS = 0


def create(client, key, expected=200, **fields):
    body = {"agent_id": RESEARCH, "namespace": "n", "key": key, "value": {"k": key}, **fields}
    response = client.post("/api/v1/memory", body, format="json")
    assert response.status_code == expected, response.content
    return response.json()


def keys_of(agent=RESEARCH, **filters):
    return sorted(MemoryEntry.objects.filter(agent_id=agent, **filters).values_list("key", flat=True))


def test_working_memory_refuses_with_429_when_full(api, settings):
    settings.OPENINTENT_MEMORY_WORKING_CAPACITY = 2
    create(api, "a")
    create(api, "b")

    response = api.post(
        "/api/v1/memory", {"agent_id": RESEARCH, "namespace": "n", "key": "c", "value": {}}, format="json"
    )

    assert response.status_code == 429
    body = response.json()
    assert body["detail"].startswith("Memory Capacity Exceeded")
    assert (body["memory_type"], body["current_count"], body["max_capacity"]) == ("working", 2, 2)
    assert keys_of() == ["a", "b"]
    # Episodic memory is counted apart.
    create(api, "e", memory_type="episodic")


def test_working_memory_of_one_task_is_limited_on_its_own(api, settings):
    settings.OPENINTENT_MEMORY_WORKING_CAPACITY_PER_TASK = 1
    create(api, "a", scope={"task_id": "t-1"})

    refused = create(api, "b", expected=429, scope={"task_id": "t-1"})

    assert refused["task_id"] == "t-1"
    create(api, "c", scope={"task_id": "t-2"})
    create(api, "d")


def test_deleting_makes_room_in_working_memory(api, settings):
    settings.OPENINTENT_MEMORY_WORKING_CAPACITY = 1
    entry = create(api, "a")
    create(api, "b", expected=429)

    api.delete(f"/api/v1/memory/{entry['id']}")

    create(api, "b")


def test_episodic_memory_evicts_the_least_recently_used_entry(api, settings):
    settings.OPENINTENT_MEMORY_EPISODIC_CAPACITY = 3
    first = create(api, "a", memory_type="episodic")
    create(api, "b", memory_type="episodic")
    create(api, "c", memory_type="episodic")
    api.get(f"/api/v1/memory/{first['id']}")

    create(api, "d", memory_type="episodic")

    assert keys_of() == ["a", "c", "d"]
    # A list is a read too: c and d are read, so a is now the least recently used.
    api.get(f"/api/v1/agents/{RESEARCH}/memory", {"key_prefix": "c"})
    api.get("/api/v1/memory", {"key": "d"})
    create(api, "e", memory_type="episodic")
    assert keys_of() == ["c", "d", "e"]


def test_eviction_prefers_lower_priority_and_never_takes_a_pinned_entry(api, settings):
    settings.OPENINTENT_MEMORY_EPISODIC_CAPACITY = 3
    create(api, "old-pinned", memory_type="episodic", pinned=True)
    create(api, "old-high", memory_type="episodic", priority="high")
    create(api, "new-low", memory_type="episodic", priority="low")

    create(api, "d", memory_type="episodic")

    assert keys_of() == ["d", "old-high", "old-pinned"]


def test_episodic_memory_full_of_pinned_entries_refuses_with_429(api, settings):
    settings.OPENINTENT_MEMORY_EPISODIC_CAPACITY = 2
    create(api, "a", memory_type="episodic", pinned=True)
    create(api, "b", memory_type="episodic", pinned=True)

    refused = create(api, "c", expected=429, memory_type="episodic")

    assert (refused["memory_type"], refused["current_count"]) == ("episodic", 2)
    assert keys_of() == ["a", "b"]


def test_an_eviction_is_logged_and_written_on_the_scoped_intent(api, settings):
    settings.OPENINTENT_MEMORY_EPISODIC_CAPACITY = 1
    intent = new_intent(api)
    evicted = create(api, "a", memory_type="episodic", scope={"intent_id": intent["id"]})

    create(api, "b", memory_type="episodic")

    event = MemoryEvent.objects.get(event_type="memory.evicted")
    assert (str(event.entry_id), event.actor, event.data["reason"]) == (evicted["id"], "system", "capacity")
    logged = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert [e["payload"]["entry_id"] for e in logged if e["event_type"] == "memory.evicted"] == [evicted["id"]]
    log = api.get(f"/api/v1/agents/{RESEARCH}/memory/events").json()["events"]
    assert log[0]["event_type"] == "memory.created"
    assert log[1]["event_type"] == "memory.evicted"


def test_capacity_is_per_agent(api, other_api, settings):
    settings.OPENINTENT_MEMORY_EPISODIC_CAPACITY = 1
    create(api, "a", memory_type="episodic")

    create(other_api, "a", agent_id="agent-synth", memory_type="episodic")

    assert keys_of() == ["a"]
    assert keys_of("agent-synth") == ["a"]


def test_a_semantic_namespace_refuses_with_429_when_full(api, settings):
    settings.OPENINTENT_MEMORY_SEMANTIC_CAPACITY = 1
    create(api, "a", memory_type="semantic")

    refused = create(api, "b", expected=429, memory_type="semantic")

    assert refused["memory_type"] == "semantic"
    create(api, "b", memory_type="semantic", namespace="elsewhere")


# Expiry --------------------------------------------------------------------------------------------------------


def lapse(entry_id):
    MemoryEntry.objects.filter(pk=entry_id).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))


def test_the_periodic_job_removes_expired_entries_and_logs_each(api):
    intent = new_intent(api)
    doomed = create(api, "doomed", ttl="duration:PT1H", scope={"intent_id": intent["id"]})
    kept = create(api, "kept", ttl="duration:PT1H")
    create(api, "forever")
    lapse(doomed["id"])

    assert tasks.expire_memory() == 1

    assert keys_of() == ["forever", "kept"]
    event = MemoryEvent.objects.get(event_type="memory.expired")
    assert str(event.entry_id) == doomed["id"]
    logged = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert "memory.expired" in [e["event_type"] for e in logged]
    assert tasks.expire_memory() == 0
    assert api.get(f"/api/v1/memory/{kept['id']}").status_code == 200


def test_expired_entries_do_not_count_against_capacity(api, settings):
    settings.OPENINTENT_MEMORY_WORKING_CAPACITY = 1
    entry = create(api, "a", ttl="duration:PT1H")
    lapse(entry["id"])

    create(api, "b")


def test_the_expiry_job_is_on_the_beat_schedule():
    scheduled = {job["task"] for job in django_settings.CELERY_BEAT_SCHEDULE.values()}

    assert "agents.tasks.expire_memory" in scheduled
