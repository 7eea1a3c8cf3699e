"""The unmodified openintent 0.9.1 client (sync and async) against a live server: portfolios (RFC-0007) and
webhook subscriptions (RFC-0006). Every portfolio and subscription method of both clients is called; against
0.9.1's own server most of them fail, here each must return what it parsed."""

import pytest

from .conftest import AGENT

pytestmark = pytest.mark.interop


def test_portfolio_methods_of_the_sync_client(run_client):
    out = run_client(
        """
        from openintent.models import AggregateStatus, IntentPortfolio, MembershipRole, PortfolioMembership
        from openintent.models import PortfolioStatus

        def as_portfolio(value):
            assert isinstance(value, IntentPortfolio), type(value)
            data = value.to_dict()
            data["status_is_enum"] = isinstance(value.status, PortfolioStatus)
            return data

        portfolio = client.create_portfolio(
            "Q3 launch", governance_policy={"require_all_completed": True}, metadata={"team": "core"}
        )
        out["created"] = as_portfolio(portfolio)
        out["described"] = as_portfolio(client.create_portfolio("Other", description="second"))

        done = client.create_intent("Done")
        done = client.set_status(done.id, done.version, IntentStatus.ACTIVE)
        done = client.set_status(done.id, done.version, IntentStatus.COMPLETED)
        running = client.create_intent("Running")
        running = client.set_status(running.id, running.version, IntentStatus.ACTIVE)

        membership = client.add_intent_to_portfolio(portfolio.id, done.id, role=MembershipRole.PRIMARY, priority=5)
        assert isinstance(membership, PortfolioMembership)
        out["membership"] = membership.to_dict()
        out["default_membership"] = client.add_intent_to_portfolio(portfolio.id, running.id).to_dict()

        got = client.get_portfolio(portfolio.id)
        out["got"] = as_portfolio(got)
        out["got_intent_titles"] = [intent.title for intent in got.intents]
        intents, aggregate = client.get_portfolio_intents(portfolio.id)
        assert isinstance(aggregate, AggregateStatus)
        out["member_titles"] = [intent.title for intent in intents]
        out["aggregate"] = aggregate.to_dict()

        out["listed"] = [p.name for p in client.list_portfolios()]
        out["listed_by_agent"] = [p.name for p in client.list_portfolios(created_by=AGENT)]
        out["listed_by_other"] = [p.name for p in client.list_portfolios(created_by="nobody")]
        out["of_intent"] = [p.name for p in client.get_intent_portfolios(done.id)]

        out["refused_completion"] = caught(
            lambda: client.update_portfolio_status(portfolio.id, PortfolioStatus.COMPLETED)
        )
        out["abandoned"] = as_portfolio(client.update_portfolio_status(portfolio.id, PortfolioStatus.ABANDONED))

        out["removed"] = caught(lambda: client.remove_intent_from_portfolio(portfolio.id, running.id))
        out["removed_again"] = caught(lambda: client.remove_intent_from_portfolio(portfolio.id, running.id))
        out["after_remove"] = [intent.title for intent in client.get_portfolio_intents(portfolio.id)[0]]
        out["events"] = [event.event_type.value for event in client.get_events(running.id)]
        out["missing"] = caught(lambda: client.get_portfolio(MISSING))
        out["not_theirs"] = caught(lambda: other.get_portfolio(portfolio.id))
        """
    )
    created = out["created"]
    assert created["name"] == "Q3 launch" and created["status"] == "active" and created["status_is_enum"]
    assert created["created_by"] == AGENT
    assert created["description"] == ""
    assert created["governance_policy"] == {"require_all_completed": True}
    assert created["metadata"] == {"team": "core"}
    assert created["created_at"] is not None and created["updated_at"] is not None
    assert out["described"]["description"] == "second"

    assert out["membership"]["role"] == "primary" and out["membership"]["priority"] == 5
    assert out["membership"]["portfolio_id"] == created["id"]
    assert out["default_membership"]["role"] == "member" and out["default_membership"]["priority"] == 0

    assert out["got_intent_titles"] == ["Done", "Running"]
    assert out["got"]["aggregate_status"] == {
        "total": 2,
        "by_status": {"completed": 1, "active": 1},
        "completion_percentage": 50,
    }
    assert out["member_titles"] == ["Done", "Running"]
    assert out["aggregate"] == out["got"]["aggregate_status"]

    assert out["listed"] == ["Q3 launch", "Other"]
    assert out["listed_by_agent"] == ["Q3 launch", "Other"]
    assert out["listed_by_other"] == []
    assert out["of_intent"] == ["Q3 launch"]

    assert out["refused_completion"]["type"] == "ConflictError"
    assert out["abandoned"]["status"] == "abandoned"
    assert out["removed"]["type"] is None
    assert out["removed_again"]["type"] == "NotFoundError"
    assert out["after_remove"] == ["Done"]
    assert out["events"][:2] == ["removed_from_portfolio", "added_to_portfolio"]
    assert out["missing"]["type"] == "NotFoundError"
    assert out["not_theirs"]["type"] == "NotFoundError"


def test_portfolio_methods_of_the_async_client(run_client):
    out = run_client(
        """
        from openintent.models import MembershipRole, PortfolioStatus

        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                portfolio = await aclient.create_portfolio("Async launch", metadata={"via": "async"})
                out["created"] = portfolio.to_dict()
                intent = await aclient.create_intent("Async member", "grouped by the async client")
                membership = await aclient.add_intent_to_portfolio(
                    portfolio.id, intent.id, role=MembershipRole.DEPENDENCY, priority=2
                )
                out["membership"] = membership.to_dict()
                out["got"] = (await aclient.get_portfolio(portfolio.id)).to_dict()
                intents, aggregate = await aclient.get_portfolio_intents(portfolio.id)
                out["members"] = [item.title for item in intents]
                out["aggregate"] = aggregate.to_dict()
                out["listed"] = [p.name for p in await aclient.list_portfolios(created_by=AGENT)]
                out["of_intent"] = [p.name for p in await aclient.get_intent_portfolios(intent.id)]
                done = await aclient.update_portfolio_status(portfolio.id, PortfolioStatus.COMPLETED)
                out["status"] = done.status.value
                await aclient.remove_intent_from_portfolio(portfolio.id, intent.id)
                out["after_remove"] = (await aclient.get_portfolio_intents(portfolio.id))[1].to_dict()

        asyncio.run(main())
        """
    )
    assert out["created"]["name"] == "Async launch" and out["created"]["metadata"] == {"via": "async"}
    assert out["membership"]["role"] == "dependency" and out["membership"]["priority"] == 2
    assert out["got"]["aggregate_status"]["total"] == 1
    assert out["members"] == ["Async member"]
    assert out["aggregate"] == {"total": 1, "by_status": {"draft": 1}, "completion_percentage": 0}
    assert out["listed"] == ["Async launch"]
    assert out["of_intent"] == ["Async launch"]
    assert out["status"] == "completed"
    assert out["after_remove"] == {"total": 0, "by_status": {}, "completion_percentage": 0}


def test_subscription_methods_of_both_clients(run_client):
    out = run_client(
        """
        from datetime import timedelta
        from openintent.models import IntentSubscription

        intent = client.create_intent("Watched")
        portfolio = client.create_portfolio("Watched portfolio")
        hook = "https://hooks.example.com/openintent"
        expires = datetime.utcnow() + timedelta(hours=2)
        on_intent = client.subscribe(
            intent_id=intent.id, event_types=["status_changed"], webhook_url=hook, expires_at=expires
        )
        assert isinstance(on_intent, IntentSubscription)
        out["on_intent"] = on_intent.to_dict()
        out["on_portfolio"] = client.subscribe(portfolio_id=portfolio.id, webhook_url=hook).to_dict()
        out["without_hook"] = caught(lambda: client.subscribe(intent_id=intent.id))
        out["listed"] = [s.id for s in client.get_subscriptions()]
        out["by_intent"] = [s.id for s in client.get_subscriptions(intent_id=intent.id)]
        out["by_portfolio"] = [s.id for s in client.get_subscriptions(portfolio_id=portfolio.id)]
        out["unsubscribed"] = caught(lambda: client.unsubscribe(on_intent.id))
        out["unsubscribed_again"] = caught(lambda: client.unsubscribe(on_intent.id))
        out["after"] = [s.id for s in client.get_subscriptions()]

        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                made = await aclient.subscribe(hook, event_types=["state_patched"], intent_id=intent.id)
                out["async_made"] = made.to_dict()
                out["async_listed"] = [s.id for s in await aclient.get_subscriptions(intent_id=intent.id)]
                await aclient.unsubscribe(made.id)
                out["async_after"] = [s.id for s in await aclient.get_subscriptions(intent_id=intent.id)]

        asyncio.run(main())
        """
    )
    on_intent = out["on_intent"]
    assert on_intent["intent_id"] is not None and on_intent["portfolio_id"] is None
    assert on_intent["subscriber_id"] == AGENT
    assert on_intent["event_types"] == ["status_changed"]
    assert on_intent["webhook_url"] == "https://hooks.example.com/openintent"
    assert on_intent["active"] is True
    assert on_intent["expires_at"] is not None
    assert out["on_portfolio"]["portfolio_id"] is not None and out["on_portfolio"]["event_types"] == []
    # This server delivers subscriptions by webhook only, so the URL is required.
    assert out["without_hook"]["type"] == "OpenIntentError" and out["without_hook"]["status_code"] == 422
    assert out["listed"] == [on_intent["id"], out["on_portfolio"]["id"]]
    assert out["by_intent"] == [on_intent["id"]]
    assert out["by_portfolio"] == [out["on_portfolio"]["id"]]
    assert out["unsubscribed"]["type"] is None
    assert out["unsubscribed_again"]["type"] == "NotFoundError"
    assert out["after"] == [out["on_portfolio"]["id"]]

    made = out["async_made"]
    assert made["event_types"] == ["state_patched"] and made["expires_at"] is not None
    assert out["async_listed"] == [made["id"]]
    assert out["async_after"] == []
