"""The agent registry routes (RFC-0016): the 0.9.1 family the client calls (``/agents/register``,
``/agents/{id}/record``, ``/agents/{id}/heartbeat``, ``/agents/{id}/status``) and the RFC's own (``POST /agents``,
``GET``/``DELETE /agents/{id}``), answering the same records."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from openintent_site.answers import answer_for
from openintent_site.api import body, expected_version, query, wire_datetime
from openintent_site.schema import refusal

from . import services
from .models import AgentStatus
from .serializers import (
    AgentEventSerializer,
    AgentListQuerySerializer,
    AgentRecordSerializer,
    AgentRegisterSerializer,
    EventPageSerializer,
    HeartbeatAnswerSerializer,
    HeartbeatSerializer,
    PoolQuerySerializer,
    PoolSerializer,
    RFCAgentRegisterSerializer,
    StatusChangeSerializer,
    record,
)

SELF_OR_ADMIN = (
    "Only the agent itself (its key, or a key acting for it with `X-Agent-ID`) or an administrator "
    "(OPENINTENT_AGENT_ADMINS, staff users) may do this."
)
ALREADY_REGISTERED = (
    "The id is registered to a live agent, and the caller is neither that agent nor whoever registered it, or the "
    "agent is draining (`current_status`)."
)
GONE_ANSWER = refusal("The agent is dead or deregistered (`agent_status`): it must register again.")


def record_response(agent, status=200):
    return Response(record(agent), status=status, headers={"ETag": f'"{agent.version}"'})


def agent_if_match(request):
    """The version in ``If-Match`` when one is sent: status changes check it then, but never require it (the 0.9.1
    client sends none)."""
    return expected_version(request) if request.headers.get("If-Match", "").strip() else None


class AgentRegisterView(APIView):
    @extend_schema(
        request=AgentRegisterSerializer,
        responses={200: AgentRecordSerializer, 409: refusal(ALREADY_REGISTERED)},
        summary="Register an agent (0.9.1 route), or register it again after a restart",
        description="A new id is registered; a dead or deregistered one is registered again with its version reset; "
        "a live one registered again by itself or by whoever registered it is refreshed in place.",
    )
    def post(self, request):
        agent, _ = services.register(body(request, AgentRegisterSerializer), request.user)
        return record_response(agent)


class AgentListView(APIView):
    @extend_schema(
        parameters=[AgentListQuerySerializer],
        responses=AgentRecordSerializer(many=True),
        summary="The agent registry: every agent, or those matching the filters, in registration order (a page of "
        "`limit` from `offset`)",
        operation_id="agents_list",
    )
    def get(self, request):
        filters = query(request, AgentListQuerySerializer)
        agents = services.find_agents(
            statuses=filters.get("status"),
            role_id=filters.get("role_id"),
            capabilities=filters.get("capabilities"),
            min_available_capacity=filters.get("min_available_capacity"),
        )
        page = agents[filters["offset"] : filters["offset"] + filters["limit"]]
        return Response([record(agent) for agent in page])

    @extend_schema(
        request=RFCAgentRegisterSerializer,
        responses={
            201: AgentRecordSerializer,
            200: OpenApiResponse(AgentRecordSerializer, description="A live agent registered again, refreshed."),
            409: refusal(ALREADY_REGISTERED),
        },
        summary="Register an agent (RFC-0016 route); the id is made by the server when left out",
        operation_id="agents_register_rfc",
    )
    def post(self, request):
        agent, outcome = services.register(body(request, RFCAgentRegisterSerializer), request.user)
        return record_response(agent, status=200 if outcome == "refreshed" else 201)


class AgentDetailView(APIView):
    @extend_schema(responses=AgentRecordSerializer, summary="An agent's record (RFC-0016 route)")
    def get(self, request, agent_id):
        return record_response(services.get_agent(agent_id))

    @extend_schema(
        responses={
            200: AgentRecordSerializer,
            403: refusal(SELF_OR_ADMIN),
            409: refusal("The agent is already dead (`current_status`)."),
        },
        summary="Deregister an agent now, without a drain; the leases it holds end",
    )
    def delete(self, request, agent_id):
        return record_response(services.deregister(agent_id, request.user))


class AgentRecordView(APIView):
    @extend_schema(responses=AgentRecordSerializer, summary="An agent's record (0.9.1 route)")
    def get(self, request, agent_id):
        return record_response(services.get_agent(agent_id))


class HeartbeatView(APIView):
    @extend_schema(
        request=HeartbeatSerializer,
        responses={200: HeartbeatAnswerSerializer, 403: refusal(SELF_OR_ADMIN), 410: GONE_ANSWER},
        summary="A heartbeat: the agent is alive, with its load; the answer carries commands for it",
    )
    def post(self, request, agent_id):
        data = body(request, HeartbeatSerializer)
        try:
            agent, now = services.heartbeat(
                agent_id,
                request.user,
                data["status"],
                data["current_load"],
                data["tasks_in_progress"],
                data.get("client_timestamp"),
            )
        except services.AgentGone as gone:
            _, answer = answer_for(gone)
            return Response(answer, status=410)
        return Response(
            {
                "status": "ok",
                "acknowledged": True,
                "agent_id": agent.agent_id,
                "agent_status": agent.status,
                "server_timestamp": wire_datetime(now),
                "next_heartbeat_at": wire_datetime(services.next_heartbeat_at(agent, now)),
                "pending_commands": services.pending_commands(agent),
                "version": agent.version,
            }
        )


class AgentStatusView(APIView):
    @extend_schema(
        request=StatusChangeSerializer,
        responses={
            200: AgentRecordSerializer,
            403: refusal(SELF_OR_ADMIN),
            409: refusal(
                "The status cannot be asked for from the current one (`current_status`, `allowed`), or `If-Match` "
                "names another version than the current one (`current_version`)."
            ),
        },
        summary="Drain, deregister or mark dead an agent",
        description="`draining` asked by the agent itself starts its drain; asked by an administrator it is a "
        "server-initiated drain, which heartbeat answers carry as a `drain` command until the agent takes it up. "
        "`If-Match` is checked when sent.",
    )
    def patch(self, request, agent_id):
        data = body(request, StatusChangeSerializer)
        version = agent_if_match(request)
        agent = services.change_status(
            agent_id,
            AgentStatus(data["status"]),
            request.user,
            drain_timeout_seconds=data.get("drain_timeout_seconds"),
            reason=data["reason"],
            expected_version=version,
        )
        return record_response(agent)


class AgentEventListView(APIView):
    @extend_schema(
        parameters=[EventPageSerializer],
        responses=AgentEventSerializer(many=True),
        summary="An agent's lifecycle log, newest first",
    )
    def get(self, request, agent_id):
        page = query(request, EventPageSerializer)
        agent = services.get_agent(agent_id)
        events = services.agent_events(agent.agent_id)[page["offset"] : page["offset"] + page["limit"]]
        return Response(AgentEventSerializer(events, many=True).data)


class PoolListView(APIView):
    @extend_schema(
        parameters=[PoolQuerySerializer],
        responses=PoolSerializer(many=True),
        summary="Agent pools: the agents sharing each role_id, with the pool's capacity",
    )
    def get(self, request):
        statuses = query(request, PoolQuerySerializer).get("status") or [AgentStatus.ACTIVE]
        return Response(services.pools(statuses))
