"""What every app's admin shares: read-only pages for what only the protocol may change, and JSON shown readably."""

import json

from django.contrib import admin
from django.utils.html import format_html


def pretty_json(value):
    return format_html("<pre style='margin:0'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class IssueOnlyAdminMixin:
    """Added from the admin, then never changed or deleted there: what such a record grants is fixed when it is
    issued, and it stays for the audit; it is revoked (an admin action) rather than deleted or edited. Without delete
    permission Django also drops the "delete selected" action, and refuses to delete anything whose deletion would
    cascade to these records (a user and their API keys)."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin(IssueOnlyAdminMixin):
    """Nothing added, changed or deleted from the admin: such records change through the API's services, where
    each change is versioned and logged. Admin actions (revoke, acknowledge…) still go through those services."""

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False
