"""Model parsing rules: lenient enums and fields, timestamps in every spelling, round trips."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from openintent import Intent, IntentLease, IntentPortfolio, IntentStatus, LeaseStatus
from openintent._wire import parse_datetime


@pytest.mark.parametrize(
    "raw",
    [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.000Z",
        "2026-01-02T03:04:05+00:00",
        "2026-01-02T03:04:05.0000000",
        "2026-01-02T04:04:05+01:00",
        "2026-01-02 03:04:05",
    ],
)
def test_timestamps_become_aware_utc(raw):
    assert parse_datetime(raw) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_datetime(raw).tzinfo == UTC


def test_unreadable_timestamps_and_other_inputs():
    assert parse_datetime("yesterday") is None and parse_datetime(None) is None
    assert parse_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    aware = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert parse_datetime(aware) == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_round_trips_and_lenient_parsing():
    intent = Intent.from_dict(
        {"id": "i", "title": "t", "status": "failed", "constraints": ["a"], "state": {"k": 1}, "extra": True}
    )
    assert intent.status == "failed" and intent.constraints == {"rules": ["a"]}
    assert Intent.from_dict(intent.to_dict()) == intent
    assert str(IntentStatus.ACTIVE) == "active" and f"{IntentStatus.ACTIVE}" == "active"
    lease = IntentLease.from_dict({"id": "l", "expires_at": "2000-01-01T00:00:00Z"})
    assert lease.status == LeaseStatus.ACTIVE and not lease.is_active
    assert IntentLease.from_dict(lease.to_dict()) == lease
    portfolio = IntentPortfolio.from_dict({"id": "p", "name": "n", "createdAt": "2026-01-01T00:00:00Z"})
    assert IntentPortfolio.from_dict(portfolio.to_dict()).created_at == portfolio.created_at
