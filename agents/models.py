"""The agents app's models, one module per protocol area; Django finds them all through this one."""

from .vaults.models import Credential, Invocation, Tool, ToolGrant, Vault, VaultEvent  # noqa: F401
