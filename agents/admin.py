"""The admin pages of the agents app live with their areas; importing them here registers them."""

from .vaults import admin as vaults_admin  # noqa: F401
