"""RFC-0004 arbitration and decisions, RFC-0011 access control, with both clients."""

from datetime import UTC, datetime, timedelta

import pytest
from openintent import (
    AccessPolicy,
    AccessRequest,
    AccessRequestStatus,
    ACLEntry,
    ArbitrationRequest,
    ArbitrationStatus,
    Decision,
    IntentACL,
    IntentStatus,
    NotFoundError,
    Permission,
    PermissionDeniedError,
)

from .conftest import AGENT, OTHER_AGENT


def test_arbitration_and_decisions(oi, person):
    intent = oi.create_intent("Disputed", status="active")
    arbitration = oi.request_arbitration(
        intent.id, "Which source wins?", context={"sources": 2}, options=[{"id": "a"}, {"id": "b"}]
    )
    assert isinstance(arbitration, ArbitrationRequest) and arbitration.requester_id == AGENT
    assert arbitration.status == ArbitrationStatus.PENDING and arbitration.context == {"sources": 2}
    assert arbitration.options == [{"id": "a"}, {"id": "b"}]
    assert oi.get_intent(intent.id).status == IntentStatus.BLOCKED
    assert [a.id for a in oi.get_arbitrations(intent.id)] == [arbitration.id]

    note = oi.record_decision(intent.id, "approach", "use source a", "it is newer", evidence=[{"url": "x"}])
    assert isinstance(note, Decision) and note.decision_maker_id == AGENT and note.reasoning == "it is newer"
    assert note.evidence == [{"url": "x"}] and note.arbitration_id is None

    with pytest.raises(PermissionDeniedError):  # agents cannot settle arbitrations
        oi.record_decision(intent.id, "arbitration", "a", "why", arbitration_id=arbitration.id)
    settled = person.record_decision(intent.id, "arbitration", "option a", "agreed", arbitration_id=arbitration.id)
    assert settled.arbitration_id == arbitration.id
    assert oi.get_arbitrations(intent.id)[0].status == ArbitrationStatus.RESOLVED
    assert oi.get_arbitrations(intent.id)[0].resolution["outcome"] == "option a"
    assert [d.id for d in oi.get_decisions(intent.id)] == [note.id, settled.id] or {
        d.id for d in oi.get_decisions(intent.id)
    } == {note.id, settled.id}
    assert oi.get_intent(intent.id).status == IntentStatus.ACTIVE


def test_acl_grant_revoke_and_permission_errors(oi, other):
    intent = oi.create_intent("Guarded")
    acl = oi.get_acl(intent.id)
    assert isinstance(acl, IntentACL) and acl.default_policy == AccessPolicy.OPEN and acl.entries == []

    closed = oi.set_acl(intent.id, AccessPolicy.CLOSED, [{"principal_id": "agent-x", "permission": Permission.READ}])
    assert closed.default_policy == AccessPolicy.CLOSED and [e.principal_id for e in closed.entries] == ["agent-x"]
    with pytest.raises(PermissionDeniedError) as refused:
        other.get_intent(intent.id)
    assert refused.value.required_permission == "read" and refused.value.held_permission is None

    entry = oi.grant_access(intent.id, OTHER_AGENT, permission="read", reason="review", expires_at=None)
    assert isinstance(entry, ACLEntry) and entry.permission == Permission.READ and entry.granted_by == AGENT
    assert other.get_intent(intent.id).id == intent.id
    with pytest.raises(PermissionDeniedError) as caught:
        other.update_state(intent.id, intent.version, {"x": 1})
    assert caught.value.required_permission == "write" and caught.value.held_permission == "read"
    assert caught.value.status_code == 403

    later = datetime.now(UTC) + timedelta(days=1)
    upgraded = oi.grant_access(intent.id, OTHER_AGENT, "agent", Permission.WRITE, expires_at=later)
    assert upgraded.permission == Permission.WRITE and upgraded.expires_at is not None
    other.update_state(intent.id, intent.version, {"x": 1})

    assert oi.revoke_access(intent.id, upgraded.id) is None
    with pytest.raises(PermissionDeniedError):
        other.get_intent(intent.id)
    with pytest.raises(NotFoundError):
        oi.revoke_access(intent.id, upgraded.id)
    reopened = oi.set_acl(intent.id)
    assert reopened.default_policy == AccessPolicy.OPEN and reopened.entries == []
    replaced = oi.set_acl(intent.id, "restricted", [ACLEntry(id="", principal_id=OTHER_AGENT, permission="admin")])
    assert replaced.entries[0].permission == Permission.ADMIN


def test_access_requests(oi, other):
    intent = oi.create_intent("Private")
    oi.set_acl(intent.id, "closed")
    asked = other.request_access(intent.id, reason="need it", capabilities=["summarise"])
    assert isinstance(asked, AccessRequest) and asked.principal_id == OTHER_AGENT
    assert asked.status == AccessRequestStatus.PENDING and asked.requested_permission == Permission.WRITE
    assert asked.capabilities == ["summarise"]
    second = other.request_access(intent.id, OTHER_AGENT, "agent", Permission.READ, "again")
    with pytest.raises(PermissionDeniedError) as caught:
        other.list_access_requests(intent.id)
    assert caught.value.required_permission == "admin"

    assert {r.id for r in oi.list_access_requests(intent.id)} == {asked.id, second.id}
    approved = oi.approve_access_request(
        intent.id, asked.id, permission=Permission.READ, expires_at=datetime.now(UTC) + timedelta(hours=1), reason="ok"
    )
    assert approved.status == AccessRequestStatus.APPROVED and approved.decided_by == AGENT
    assert approved.decision_reason == "ok"
    assert other.get_intent(intent.id).id == intent.id
    denied = oi.deny_access_request(intent.id, second.id, reason="read is enough")
    assert denied.status == AccessRequestStatus.DENIED
    assert [r.id for r in oi.list_access_requests(intent.id, status="denied")] == [second.id]
    assert [r.id for r in oi.list_access_requests(intent.id, "pending")] == []
