"""The intent graph (RFC-0002): parents and children, dependencies without cycles, and the reads over them."""

import uuid
from functools import cache

from django.db import connection, connections, transaction
from django.utils import timezone

from intents.access.models import Permission
from intents.access.policy import readable_params, readable_sql
from intents.core.models import TERMINAL, Intent, IntentStatus
from intents.core.services import (
    as_uuid,
    find_intents,
    get_intent,
    lock_for_write,
    refuse_if_finished,
    set_status,
    unfinished_dependencies,
)
from openintent_site.errors import NotFound, RuleViolation, VersionConflict
from openintent_site.events import EventType, append_event
from openintent_site.rows import ModelColumns

from .models import IntentDependency


def lock_dependency_graph():
    # Two edges added at once could close a cycle neither transaction sees, so edge additions take turns.
    # SQLite already serialises writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x01E7_0002])


def dependency_path(start, goal):
    """A path of ``depends_on`` edges from ``start`` to ``goal``, or None. One query per level."""
    came_from = {start: None}
    frontier = [start]
    while frontier:
        edges = IntentDependency.objects.filter(intent_id__in=frontier).values_list("intent_id", "depends_on_id")
        frontier = []
        for source, target in edges:
            if target in came_from:
                continue
            came_from[target] = source
            if target == goal:
                path = [target]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return list(reversed(path))
            frontier.append(target)
    return None


@transaction.atomic
def add_dependency(intent_id, dependency_id, expected_version, actor):
    lock_dependency_graph()
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=Permission.WRITE)
    dependency = get_intent(dependency_id, message="Dependency intent not found")
    if intent.version != expected_version:
        raise VersionConflict(intent.version)
    refuse_if_finished(intent)
    if IntentDependency.objects.filter(intent=intent, depends_on=dependency).exists():
        raise RuleViolation("Dependency already exists")
    if intent.pk == dependency.pk:
        raise RuleViolation(f"Dependency would create cycle: {intent.pk} -> {intent.pk}")
    path = dependency_path(dependency.pk, intent.pk)
    if path is not None:
        chain = " -> ".join(str(pk) for pk in [intent.pk, *path])
        raise RuleViolation(f"Dependency would create cycle: {chain}")
    IntentDependency.objects.create(intent=intent, depends_on=dependency)
    intent.depends_on = [*intent.depends_on, str(dependency.pk)]
    intent.version += 1
    intent.updated_at = timezone.now()
    intent.save(update_fields=["depends_on", "version", "updated_at"])
    append_event(
        intent.pk, EventType.DEPENDENCY_ADDED, actor, {"dependency_id": str(dependency.pk), "version": intent.version}
    )
    if intent.status == IntentStatus.ACTIVE and dependency.status != IntentStatus.COMPLETED:
        reason = f"waits for dependency {dependency.pk}"
        set_status(intent, IntentStatus.BLOCKED, actor, reason, within_versioned_write=True)
    return intent


@transaction.atomic
def remove_dependency(intent_id, dependency_id, expected_version, actor):
    intent = lock_for_write(intent_id, expected_version, actor)
    pk = as_uuid(dependency_id)
    deleted, _ = IntentDependency.objects.filter(intent=intent, depends_on_id=pk).delete() if pk else (0, None)
    if not deleted:
        raise NotFound("Dependency not found")
    intent.depends_on = [kept for kept in intent.depends_on if kept != str(pk)]
    intent.version += 1
    intent.updated_at = timezone.now()
    intent.save(update_fields=["depends_on", "version", "updated_at"])
    append_event(intent.pk, EventType.DEPENDENCY_REMOVED, actor, {"dependency_id": str(pk), "version": intent.version})
    if intent.status == IntentStatus.BLOCKED and not unfinished_dependencies(intent):
        set_status(intent, IntentStatus.ACTIVE, actor, f"dependency {pk} removed", within_versioned_write=True)
    return intent


# Graph -------------------------------------------------------------------------------------------------------


def children_of(intent):
    return intent.children.order_by("created_at", "pk")


def readable_children(intent, principal_id):
    """The children of ``intent`` that ``principal_id`` may read, oldest first: ``children_of`` filtered by
    ``access.policy.readable_by``, in one statement written once per process (``ReadableChildren``), as
    ``Intent.objects.by_pk`` is. Composing it through the ORM was a third of the children route's CPU."""
    statement = ReadableChildren.on(Intent.objects.db)
    connection = connections[Intent.objects.db]
    params = [Intent._meta.pk.get_db_prep_value(intent.pk, connection)]
    params += readable_params(connection, principal_id, timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        rows = cursor.fetchall()
    return [statement.columns.instance(row) for row in rows]


class ReadableChildren:
    """The SQL of ``readable_children`` for one database, and the intent's columns in it."""

    @staticmethod
    @cache
    def on(alias):
        return ReadableChildren(alias)

    def __init__(self, alias):
        quote = connections[alias].ops.quote_name
        self.columns = ModelColumns.of(Intent, alias)
        intents = self.columns.table

        def column(name):
            return f"{intents}.{quote(Intent._meta.get_field(name).column)}"

        readable = readable_sql(connections[alias], column("id"), column("created_by"))
        self.sql = (
            f"SELECT {self.columns.select_list} FROM {intents} WHERE {column('parent')} = %s AND {readable} "
            f"ORDER BY {column('created_at')}, {column('id')}"
        )


def descendants_of(intent):
    """All descendants, depth-first pre-order. One query per level of the tree."""
    by_parent = {}
    frontier = [intent.pk]
    while frontier:
        level = list(Intent.objects.filter(parent_id__in=frontier).order_by("created_at", "pk"))
        for child in level:
            by_parent.setdefault(child.parent_id, []).append(child)
        frontier = [child.pk for child in level]
    ordered = []
    stack = list(reversed(by_parent.get(intent.pk, [])))
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(by_parent.get(node.pk, [])))
    return ordered


def ancestors_of(intent):
    chain = []
    seen = {intent.pk}
    parent_id = intent.parent_id
    while parent_id is not None and parent_id not in seen:
        parent = Intent.objects.filter(pk=parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.pk)
        parent_id = parent.parent_id
    return chain


def dependencies_of(intent):
    return find_intents(intent.depends_on)


def dependents_of(intent):
    return Intent.objects.filter(dependency_links__depends_on=intent).order_by("created_at", "pk")


def readiness_of_children(intent):
    """Split the unfinished children into those whose dependencies are all completed and the rest."""
    children = [child for child in children_of(intent) if child.status not in TERMINAL]
    dependency_ids = {dep for child in children for dep in child.depends_on}
    completed = {
        str(pk)
        for pk in Intent.objects.filter(pk__in=dependency_ids, status=IntentStatus.COMPLETED).values_list(
            "pk", flat=True
        )
    }
    ready, blocked = [], []
    for child in children:
        satisfied = all(dep in completed for dep in child.depends_on)
        (ready if satisfied and child.status != IntentStatus.BLOCKED else blocked).append(child)
    return ready, blocked


def graph_of(intent, visible=list):
    """Nodes reachable from ``intent`` through children and dependencies, with parent and dependency edges.

    ``visible`` picks, from the nodes reached, those to show; edges and aggregates cover only them."""
    nodes = {}
    frontier = [intent.pk]
    while frontier:
        batch = Intent.objects.filter(pk__in=frontier)
        frontier = []
        for node in batch:
            nodes[node.pk] = node
        child_ids = Intent.objects.filter(parent_id__in=[node.pk for node in batch]).values_list("pk", flat=True)
        for pk in [*child_ids, *(uuid.UUID(dep) for node in batch for dep in node.depends_on)]:
            if pk not in nodes and pk not in frontier:
                frontier.append(pk)
    ordered = sorted(nodes.values(), key=lambda node: (node.pk != intent.pk, node.created_at, str(node.pk)))
    ordered = visible(ordered)
    shown = {str(node.pk) for node in ordered}
    edges = []
    for node in ordered:
        if node.parent_id is not None and str(node.parent_id) in shown:
            edges.append({"from": str(node.parent_id), "to": str(node.pk), "type": "parent"})
        edges.extend({"from": dep, "to": str(node.pk), "type": "dependency"} for dep in node.depends_on if dep in shown)
    by_status = {}
    for node in ordered:
        by_status[node.status] = by_status.get(node.status, 0) + 1
    completed = {str(node.pk) for node in ordered if node.status == IntentStatus.COMPLETED}
    open_nodes = [node for node in ordered if node.status not in TERMINAL]
    blocking = [str(node.pk) for node in open_nodes if any(dep not in completed for dep in node.depends_on)]
    ready = [str(node.pk) for node in open_nodes if str(node.pk) not in blocking and node.status != "blocked"]
    total = len(ordered)
    return {
        "root_id": str(intent.pk),
        "nodes": [
            {
                "id": str(node.pk),
                "title": node.title,
                "status": node.status,
                "parent_id": str(node.parent_id) if node.parent_id else None,
                "depends_on": node.depends_on,
            }
            for node in ordered
        ],
        "edges": edges,
        "aggregate_status": {
            "total": total,
            "by_status": by_status,
            "completion_percentage": (len(completed) * 100) // total if total else 0,
            "blocking_intents": blocking,
            "ready_intents": ready,
        },
    }
