"""Every column that holds values sealed under the vault keys (``crypto.py``), so that key rotation
(``manage.py rotatevaultkey``) and ``manage.py doctor`` reach all of them, not only credentials.

Apps above this one seal values of their own (the triggers app, webhook secrets) and register their column here in
their ``AppConfig.ready``: this app may not import them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import crypto


@dataclass(frozen=True)
class SealedColumn:
    # What one value is, in plain words: "credential", "webhook secret".
    noun: str
    model: Any
    field: str
    # The associated data a row's value was sealed with (from its primary key): a value copied onto another row
    # does not open there.
    associated: Callable[[Any], str]

    @property
    def plural(self):
        return f"{self.noun}s"

    def sealed(self):
        """The rows holding a sealed value."""
        return self.model._default_manager.exclude(**{self.field: ""})

    def under(self, key_id):
        return {f"{self.field}__startswith": f"{crypto.FORMAT}.{key_id}."}


_COLUMNS: dict[str, SealedColumn] = {}


def register(noun, model, field, associated):
    """Register ``model.field`` as sealed; registering the same noun again replaces it (``ready`` may run twice)."""
    _COLUMNS[noun] = SealedColumn(noun, model, field, associated)


def columns():
    return list(_COLUMNS.values())
