"""The admin pages of the intents app live with their areas; importing them here registers them."""

from .access import admin as access_admin  # noqa: F401
from .costs import admin as costs_admin  # noqa: F401
from .leases import admin as leases_admin  # noqa: F401
from .plans import admin as plans_admin  # noqa: F401
from .portfolios import admin as portfolios_admin  # noqa: F401
from .subscriptions import admin as subscriptions_admin  # noqa: F401
