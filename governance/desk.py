"""The admin's front page is the reviewers' desk: every queue of ``governance.queues`` with its true count, its
oldest rows and a link to all of them; each queue also has a page of its own listing every row, a page at a time."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from . import queues

ROWS_ON_THE_DESK = 10
ROWS_PER_PAGE = 50


def table(queue, items):
    """The queue's rows as cells ready to render: its columns, then its row actions."""
    return [
        {
            "cells": [(column.value(item), column.wrap) for column in queue.columns],
            "actions": [(action.label, action.url(item)) for action in queue.actions],
        }
        for item in items
    ]


def summary(queue, limit=ROWS_ON_THE_DESK):
    return {
        "queue": queue,
        "count": queue.count(),
        "headers": [column.header for column in queue.columns],
        "rows": table(queue, queue.items()[:limit]),
        "see_all": queue.see_all(),
    }


class DeskAdminSite(admin.AdminSite):
    site_header = "OpenIntent governance desk"
    site_title = "OpenIntent"
    index_title = "Waiting for a reviewer"
    index_template = "admin/desk_index.html"
    # The server's own pages are an API; its human-readable front is the API documentation.
    site_url = "/docs"

    def get_urls(self):
        own = [path("desk/<slug:key>/", self.admin_view(self.queue_view), name="desk_queue")]
        return own + super().get_urls()

    def index(self, request, extra_context=None):
        waiting = [summary(queue) for queue in queues.QUEUES]
        context = {
            "queues": waiting,
            "waiting_total": sum(entry["count"] for entry in waiting),
            **(extra_context or {}),
        }
        return super().index(request, context)

    def queue_view(self, request, key):
        queue = queues.queue(key)
        if queue is None:
            raise Http404("No such queue")
        page = Paginator(queue.items(), ROWS_PER_PAGE).get_page(request.GET.get("page"))
        context = {
            **self.each_context(request),
            "title": queue.label,
            "queue": queue,
            "count": page.paginator.count,
            "headers": [column.header for column in queue.columns],
            "rows": table(queue, page.object_list),
            "page": page,
            "desk_url": reverse("admin:index", current_app=self.name),
        }
        return TemplateResponse(request, "admin/desk_queue.html", context)
