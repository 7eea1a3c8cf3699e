"""The agents app's models, one module per protocol area; Django finds them all through this one."""
