"""``@on_conflict`` and ``@on_quorum`` on a ``@Coordinator`` against a live server. A conflict is an agent's write
refused for a stale version, which the agent's runtime reports on the intent (``state_conflict``); a quorum is the
share of the intent's agents whose latest ``vote`` is in favor. Each fires on the event that should fire it and not
on one that should not, and the README's decision types reach the server."""

import asyncio

import pytest
from openintent import AsyncOpenIntentClient, Coordinator, OpenIntentClient, Worker, on_conflict, on_event, on_quorum
from openintent.agents import CONFLICT_EVENT

from ..conftest import wait_for
from .conftest import AGENT, KEY, OTHER_AGENT, OTHER_KEY
from .test_agents import last_id, running
from .test_coordinator_runtime import SUPERVISOR, run_async

WAIT = 60


@pytest.fixture
def boss(live_server_url, person_api):
    """agent-synth, who makes the intents; person_api makes the supervisor a person."""
    client = OpenIntentClient(live_server_url, OTHER_KEY, OTHER_AGENT)
    yield client
    client.close()


class Interleaved(AsyncOpenIntentClient):
    """A client after whose next reads of an intent another writer writes it: its write at the version it read is
    then stale, as when two agents race."""

    def __init__(self, *args, writes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.writes = list(writes)

    async def get_intent(self, intent_id, *args, **kwargs):
        intent = await super().get_intent(intent_id, *args, **kwargs)
        if self.writes:
            self.writes.pop(0)()
        return intent


def lead_with(log):
    @Coordinator("lead", supervisor=SUPERVISOR)
    class Lead:
        @on_conflict
        async def resolve(self, intent, conflict):
            log.append(("conflict", intent.title, conflict["agent_id"], conflict["keys"], conflict["resolved"]))
            await self.record_decision("conflict_resolution", f"Resolved on {intent.id}", "Latest write wins")

        @on_quorum(threshold=0.6)
        async def consensus(self, intent, votes):
            log.append(("quorum", intent.title, sorted(vote["agent_id"] for vote in votes)))
            await self.record_decision("quorum", "Consensus reached", f"{len(votes)} votes in favor")

        @on_event("marker")
        async def marker(self, intent, event):
            log.append(("marker", event.data.get("n")))

    return Lead


def coordinate(lead, intent_id):
    assert wait_for(lambda: lead._loop is not None, WAIT)
    asyncio.run_coroutine_threadsafe(lead.coordinate(intent_id), lead._loop).result(WAIT)


def test_a_stale_write_an_agent_met_fires_on_conflict_and_a_clean_write_does_not(boss, live_server_url):
    log: list = []
    shared = boss.create_intent("shared draft")
    lead = lead_with(log)(live_server_url, KEY, last_event_id=last_id(boss, shared.id))
    with running(lead):
        coordinate(lead, shared.id)
        writer = Worker(AGENT, lambda intent: None, live_server_url, KEY)

        def other_writer():
            boss.update_state(shared.id, boss.get_intent(shared.id).version, {"summary": "theirs"})

        async def write_twice():
            writer._async_client = Interleaved(live_server_url, KEY, AGENT)
            await writer.patch_state(shared.id, {"outline": "clean"})  # nobody came between: no conflict
            writer.async_client.writes.append(other_writer)
            return await writer.patch_state(shared.id, {"summary": "mine"})

        written = run_async(writer, write_twice)
        assert written.state.get("summary") == "mine"  # the latest write wins
        assert wait_for(lambda: boss.list_decision_records(shared.id), WAIT)
    assert log == [("conflict", "shared draft", AGENT, ["summary"], True)]
    [reported] = boss.get_events(shared.id, CONFLICT_EVENT)
    [refused] = reported.payload["refused"]
    assert reported.actor == AGENT and refused["current_version"] == refused["expected_version"] + 1
    [record] = boss.list_decision_records(shared.id)
    assert (record.coordinator_id, record.decision_type, record.rationale) == (
        "lead",
        "conflict_resolution",
        "Latest write wins",
    )


def test_on_quorum_fires_once_when_the_share_in_favor_reaches_the_threshold(boss, live_server_url):
    log: list = []
    ballot = boss.create_intent("release 2.0?")
    for voter in ("voter-a", "voter-b", "voter-c"):
        boss.assign_agent(ballot.id, voter)
    lead = lead_with(log)(live_server_url, KEY, last_event_id=last_id(boss, ballot.id))
    clients = {voter: OpenIntentClient(live_server_url, OTHER_KEY, voter) for voter in ("voter-a", "voter-b")}

    def marker(n):
        boss.log_event(ballot.id, "marker", {"n": n})
        assert wait_for(lambda: ("marker", n) in log, WAIT)

    with running(lead):
        coordinate(lead, ballot.id)
        clients["voter-a"].log_event(ballot.id, "vote", {"in_favor": True})
        clients["voter-b"].log_event(ballot.id, "vote", {"in_favor": False})
        boss.log_event(ballot.id, "vote", {"in_favor": True})  # not one of the intent's voters
        marker(1)
        assert [entry for entry in log if entry[0] == "quorum"] == []  # 1 of 3 in favor: below 0.6

        clients["voter-b"].log_event(ballot.id, "vote", {"in_favor": True})  # changes its vote: 2 of 3
        assert wait_for(lambda: boss.list_decision_records(ballot.id), WAIT)
        third = Worker("voter-c", lambda intent: None, live_server_url, KEY)
        run_async(third, lambda: third.vote(ballot.id, True, note="late"))
        marker(2)
    for client in clients.values():
        client.close()
    assert [entry for entry in log if entry[0] == "quorum"] == [("quorum", "release 2.0?", ["voter-a", "voter-b"])]
    [record] = boss.list_decision_records(ballot.id)
    assert (record.decision_type, record.rationale) == ("quorum", "2 votes in favor")


def test_votes_cast_before_the_coordinator_came_make_a_quorum_when_it_coordinates(boss, live_server_url):
    log: list = []
    early = boss.create_intent("decided early")
    for voter in ("voter-a", "voter-b"):
        boss.assign_agent(early.id, voter)
        voting = OpenIntentClient(live_server_url, OTHER_KEY, voter)
        voting.log_event(early.id, "vote", {"in_favor": True})
        voting.close()
    lead = lead_with(log)(live_server_url, KEY, last_event_id=last_id(boss, early.id))
    with running(lead):
        coordinate(lead, early.id)
        assert wait_for(lambda: boss.list_decision_records(early.id), WAIT)
    assert log == [("quorum", "decided early", ["voter-a", "voter-b"])]
