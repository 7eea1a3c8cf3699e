"""Credential vaults, tool grants and the tool proxy (RFC-0014)."""

from . import checks  # noqa: F401  registers the vault key check with Django's checks
