"""The admin pages of the agents app live with their areas; importing them here registers them."""

from .memory import admin as memory_admin  # noqa: F401
from .registry import admin as registry_admin  # noqa: F401
from .vaults import admin as vaults_admin  # noqa: F401
