"""Attachments, costs, retry policies and failures, webhook subscriptions, portfolios, LLM observability and
discovery, with both clients against a live server."""

from datetime import UTC, datetime, timedelta

import pytest
from openintent import (
    AggregateStatus,
    ConflictError,
    CostSummary,
    CostType,
    EventType,
    IntentAttachment,
    IntentCost,
    IntentFailure,
    IntentPortfolio,
    IntentStatus,
    IntentSubscription,
    MembershipRole,
    NotFoundError,
    PortfolioMembership,
    PortfolioStatus,
    RetryPolicy,
    RetryStrategy,
    ValidationError,
)

from .conftest import AGENT, MISSING


def test_attachments_by_url_and_upload(oi, tmp_path):
    intent = oi.create_intent("With files")
    registered = oi.add_attachment(
        intent.id, "report.pdf", "application/pdf", 1234, "https://files.example.com/report.pdf", {"pages": 3}
    )
    assert isinstance(registered, IntentAttachment) and registered.storage_url.endswith("/report.pdf")
    assert registered.size == 1234 and registered.metadata == {"pages": 3} and registered.uploaded_by == AGENT

    uploaded = oi.upload_attachment(intent.id, b"hello bytes", filename="hello.txt", metadata={"k": "v"})
    assert uploaded.size == 11 and uploaded.mime_type == "text/plain" and uploaded.metadata == {"k": "v"}
    assert uploaded.sha256 and oi.download_attachment(intent.id, uploaded.id) == b"hello bytes"

    path = tmp_path / "data.json"
    path.write_bytes(b'{"a": 1}')
    from_path = oi.upload_attachment(intent.id, path)
    assert from_path.filename == "data.json" and from_path.mime_type == "application/json"
    with path.open("rb") as handle:
        from_file = oi.upload_attachment(intent.id, handle, mime_type="application/x-custom")
    assert from_file.mime_type == "application/x-custom"
    assert oi.download_attachment(intent.id, from_file.id) == b'{"a": 1}'

    listed = oi.get_attachments(intent.id)
    assert {a.id for a in listed} == {registered.id, uploaded.id, from_path.id, from_file.id}
    assert oi.delete_attachment(intent.id, uploaded.id) is None
    with pytest.raises(NotFoundError):
        oi.download_attachment(intent.id, uploaded.id)
    with pytest.raises(NotFoundError):  # stored elsewhere
        oi.download_attachment(intent.id, registered.id)


def test_costs_and_budget(oi):
    intent = oi.create_intent("Costly", constraints={"budget": {"max_total_cents": 1000}})
    cost = oi.record_cost(intent.id, "tokens", 1500, "tokens", provider="openai", metadata={"model": "gpt"})
    assert isinstance(cost, IntentCost) and cost.cost_type == CostType.TOKENS and cost.amount == 1500
    assert cost.agent_id == AGENT and cost.metadata == {"model": "gpt"} and cost.recorded_at is not None
    oi.record_cost(intent.id, CostType.API_CALL, 9.5, "cents")
    costs, summary = oi.get_costs(intent.id)
    assert len(costs) == 2 and isinstance(summary, CostSummary)
    assert summary.by_type == {"tokens": 1500.0, "api_call": 9.5} and summary.by_agent == {AGENT: 1509.5}
    assert summary.by_unit["cents"] == 9.5 and summary.budget["max_total_cents"] == 1000
    with pytest.raises(ValidationError) as caught:
        oi.record_cost(intent.id, "bogus", 1, "x")
    assert caught.value.status_code == 422 and caught.value.errors[0]["loc"] == ["body", "cost_type"]


def test_retry_policy_and_failures(oi):
    intent = oi.create_intent("Flaky", status="active")
    assert oi.get_retry_policy(intent.id) is None
    policy = oi.set_retry_policy(intent.id, "fixed", max_retries=0, base_delay_ms=10, max_delay_ms=100)
    assert isinstance(policy, RetryPolicy) and policy.strategy == RetryStrategy.FIXED and policy.max_retries == 0
    replaced = oi.set_retry_policy(
        intent.id, RetryStrategy.EXPONENTIAL, 2, 100, 1000, fallback_agent_id="agent-synth", failure_threshold=5
    )
    assert replaced.fallback_agent_id == "agent-synth" and replaced.failure_threshold == 5 and replaced.jitter
    assert oi.get_retry_policy(intent.id) == replaced

    scheduled = datetime.now(UTC) + timedelta(minutes=1)
    failure = oi.record_failure(
        intent.id, 1, error_code="timeout", error_message="took too long", retry_scheduled_at=scheduled
    )
    assert isinstance(failure, IntentFailure) and failure.error_code == "timeout" and failure.agent_id == AGENT
    assert failure.attempt_number == 1 and failure.recoverable
    oi.record_failure(intent.id, error_code="crash", metadata={"exit": 1}, recoverable=False)
    unnamed = oi.record_failure(intent.id, 3)  # no error code: recorded as UNKNOWN
    assert unnamed.error_code == "UNKNOWN" and unnamed.attempt_number == 3
    failures = oi.get_failures(intent.id)
    assert {f.error_code for f in failures} == {"timeout", "crash", "UNKNOWN"}


def test_webhook_subscriptions(oi, other):
    intent = oi.create_intent("Watched")
    expires = datetime.now(UTC) + timedelta(days=1)
    sub = oi.subscribe(
        intent_id=intent.id,
        event_types=[EventType.STATE_PATCHED, "comment"],
        webhook_url="http://127.0.0.1:9/hook",
        expires_at=expires,
    )
    assert isinstance(sub, IntentSubscription) and sub.secret and sub.subscriber_id == AGENT
    assert sub.event_types == ["state_patched", "comment"] and sub.expires_at is not None
    everything = oi.subscribe(webhook_url="https://example.com/all")
    assert everything.intent_id is None and everything.event_types == []
    assert {s.id for s in oi.get_subscriptions()} == {sub.id, everything.id}
    assert [s.id for s in oi.get_subscriptions(intent_id=intent.id)] == [sub.id]
    assert other.get_subscriptions() == []
    fetched = oi.get_subscription(sub.id)
    assert fetched.id == sub.id and fetched.secret is None and fetched.active
    with pytest.raises(NotFoundError):
        other.get_subscription(sub.id)
    assert oi.unsubscribe(sub.id) is None
    with pytest.raises(NotFoundError):
        oi.get_subscription(sub.id)
    with pytest.raises(ValidationError):
        oi.subscribe(intent_id=intent.id)  # webhook_url is required by this server


def test_portfolios(oi):
    portfolio = oi.create_portfolio("Q4 research", "all of it", {"require_all_completed": True}, {"team": "a"})
    assert isinstance(portfolio, IntentPortfolio) and portfolio.created_by == AGENT
    assert portfolio.status == PortfolioStatus.ACTIVE and portfolio.governance_policy == {"require_all_completed": True}
    assert portfolio.created_at is not None and portfolio.aggregate_status == AggregateStatus(0, {}, 0)

    goal = oi.create_intent("Goal")
    part = oi.create_intent("Part", status="active")
    membership = oi.add_intent_to_portfolio(portfolio.id, goal.id, MembershipRole.PRIMARY, priority=10)
    assert isinstance(membership, PortfolioMembership) and membership.role == MembershipRole.PRIMARY
    assert membership.priority == 10 and membership.intent_id == goal.id
    oi.add_intent_to_portfolio(portfolio.id, part.id)

    intents, aggregate = oi.get_portfolio_intents(portfolio.id)
    assert [i.id for i in intents] == [goal.id, part.id] and aggregate.total == 2
    assert aggregate.by_status == {"draft": 1, "active": 1}
    members = oi.get_portfolio_members(portfolio.id)
    assert [(m.intent_id, m.role) for m in members] == [(goal.id, "primary"), (part.id, "member")]
    page = oi.get_portfolio(portfolio.id)
    assert [i.id for i in page.intents] == [goal.id, part.id] and len(page.members) == 2
    assert [p.id for p in oi.get_intent_portfolios(goal.id)] == [portfolio.id]

    assert [p.id for p in oi.list_portfolios()] == [portfolio.id]
    assert [p.id for p in oi.list_portfolios(created_by=AGENT, status="active")] == [portfolio.id]
    assert oi.list_portfolios(status=PortfolioStatus.COMPLETED) == []

    renamed = oi.update_portfolio(portfolio.id, name="Q4", metadata={"team": "b"})
    assert renamed.name == "Q4" and renamed.metadata == {"team": "b"} and renamed.description == "all of it"
    with pytest.raises(ConflictError):  # require_all_completed: the members are not completed
        oi.update_portfolio_status(portfolio.id, PortfolioStatus.COMPLETED)
    relaxed = oi.update_portfolio(portfolio.id, description="less", governance_policy={})
    assert relaxed.description == "less" and relaxed.governance_policy == {}

    assert oi.remove_intent_from_portfolio(portfolio.id, part.id) is None
    assert [m.intent_id for m in oi.get_portfolio_members(portfolio.id)] == [goal.id]
    abandoned = oi.update_portfolio_status(portfolio.id, "abandoned")
    assert abandoned.status == PortfolioStatus.ABANDONED
    with pytest.raises(NotFoundError):
        oi.get_portfolio(MISSING)


def test_llm_observability_events(oi):
    intent = oi.create_intent("Observed")
    started = oi.log_tool_call_started(intent.id, "search", "t1", {"q": "x"}, provider="openai", model="gpt")
    assert started.event_type == EventType.TOOL_CALL_STARTED
    assert started.payload == {"tool_name": "search", "tool_id": "t1", "arguments": {"q": "x"}, "provider": "openai",
                               "model": "gpt"}  # fmt: skip
    done = oi.log_tool_call_completed(intent.id, "search", "t1", {"q": "x"}, {"hits": 3}, duration_ms=12)
    assert done.payload["result"] == {"hits": 3} and done.payload["duration_ms"] == 12
    failed = oi.log_tool_call_failed(intent.id, "search", "t2", {}, "rate limited")
    assert failed.payload["error"] == "rate limited" and failed.event_type == EventType.TOOL_CALL_FAILED

    request = oi.log_llm_request_started(intent.id, "r1", "openai", "gpt", 3, tools_available=["search"], stream=True)
    assert request.payload["stream"] is True and request.payload["tools_available"] == ["search"]
    completed = oi.log_llm_request_completed(
        intent.id, "r1", "openai", "gpt", 3, response_content="hi", finish_reason="stop", total_tokens=9
    )
    assert completed.payload["stream"] is False and completed.payload["total_tokens"] == 9
    assert "tool_calls" not in completed.payload
    llm_failed = oi.log_llm_request_failed(intent.id, "r2", "openai", "gpt", 1, "boom", duration_ms=5)
    assert llm_failed.payload["error"] == "boom"

    stream = oi.start_stream(intent.id, "s1", "openai", "gpt")
    assert stream.payload["status"] == "active" and stream.payload["chunks_received"] == 0
    assert stream.payload["agent_id"] == AGENT and stream.payload["started_at"].endswith("+00:00")
    chunk = oi.log_stream_chunk(intent.id, "s1", 0, token_count=4)
    assert chunk.payload == {"stream_id": "s1", "chunk_index": 0, "token_count": 4}
    finished = oi.complete_stream(intent.id, "s1", "openai", "gpt", 1, 4)
    assert finished.payload["status"] == "completed" and finished.payload["tokens_streamed"] == 4
    cancelled = oi.cancel_stream(intent.id, "s2", "openai", "gpt", reason="user stop")
    assert cancelled.payload["cancel_reason"] == "user stop" and cancelled.event_type == EventType.STREAM_CANCELLED
    assert len(oi.get_events(intent.id)) == 11


def test_discovery(oi):
    document = oi.discover()
    assert "capabilities" in document and "intents" in document["capabilities"]
    compatibility = oi.get_compatibility()
    assert compatibility["features"]["intents"] is True
    assert oi.get_intent(oi.create_intent("x").id).status == IntentStatus.DRAFT
